package mail

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/quartermaster/qm"
)

// Message is one e-mail. Every header value, addresses included, is checked
// for line breaks and other control characters before anything is written,
// so no value can end its header and start another.
type Message struct {
	// From is the sender, "alerts@example.com" or
	// "Quartermaster <alerts@example.com>"; the address is also the
	// envelope sender.
	From string
	// To are the recipients, in either form, each also an envelope
	// recipient. There is no Cc or Bcc: each recipient of a notification
	// gets a message of their own.
	To []string
	// Subject is plain text, non-ASCII included.
	Subject string
	// Text and HTML are the bodies; at least one must be set. With both,
	// the message is multipart/alternative and mail readers show the HTML.
	// Their line breaks, "\n", "\r\n" or a lone "\r", are all sent as
	// CRLF.
	Text string
	HTML string
	// Header holds further headers (Reply-To, List-Unsubscribe, …). It may
	// not set the ones Message writes itself.
	Header map[string]string
}

// Bounds on a message, far above what a notification needs, so a bug
// cannot send a megabyte-long subject or mail a whole tenant at once.
const (
	maxRecipients = 100
	maxBody       = 1 << 20
	// maxLine is RFC 5322's limit on a line, CRLF excluded; lines are
	// folded at spaces to foldAt when they can be.
	maxLine = 998
	foldAt  = 78
)

// ownHeaders are written by build and may not be set through Header.
var ownHeaders = []string{
	"Bcc", "Cc", "Content-Transfer-Encoding", "Content-Type", "Date", "From",
	"Message-Id", "Mime-Version", "Subject", "To",
}

// built is a message ready for the envelope.
type built struct {
	from string   // envelope sender
	to   []string // envelope recipients
	data []byte   // the message, CRLF line endings
}

// build checks m and writes it as a MIME message dated now. Every error is
// a *qm.Error with code qm.EInvalid, naming the field at fault.
func (m Message) build(now time.Time) (built, error) {
	var b built
	from, err := parseAddress("From", m.From)
	if err != nil {
		return b, err
	}
	b.from = from.Address
	if len(m.To) == 0 {
		return b, qm.Errorf(qm.EInvalid, "e-mail has no recipient")
	}
	if len(m.To) > maxRecipients {
		return b, qm.Errorf(qm.EInvalid, "e-mail has more than %d recipients", maxRecipients)
	}
	to := make([]string, len(m.To))
	for i, raw := range m.To {
		a, err := parseAddress("To", raw)
		if err != nil {
			return b, err
		}
		b.to = append(b.to, a.Address)
		to[i] = a.String()
	}
	if err := checkValue("Subject", m.Subject); err != nil {
		return b, err
	}
	if m.Text == "" && m.HTML == "" {
		return b, qm.Errorf(qm.EInvalid, "e-mail has no body")
	}
	if len(m.Text)+len(m.HTML) > maxBody {
		return b, qm.Errorf(qm.EInvalid, "e-mail body is longer than %d bytes", maxBody)
	}
	if !utf8.ValidString(m.Text) || !utf8.ValidString(m.HTML) {
		return b, qm.Errorf(qm.EInvalid, "e-mail body is not valid UTF-8")
	}

	var w bytes.Buffer
	h := headerWriter{w: &w}
	h.write("MIME-Version", "1.0")
	h.write("Date", now.Format(time.RFC1123Z))
	h.write("Message-ID", messageID(from.Address))
	h.write("From", from.String())
	h.write("To", strings.Join(to, ", "))
	h.write("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	names := make([]string, 0, len(m.Header))
	for name := range m.Header {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if err := checkName(name); err != nil {
			return b, err
		}
		if err := checkValue(name, m.Header[name]); err != nil {
			return b, err
		}
		h.write(name, mime.QEncoding.Encode("utf-8", m.Header[name]))
	}
	if h.err != nil {
		return b, h.err
	}

	switch {
	case m.Text != "" && m.HTML != "":
		mw := multipart.NewWriter(&w)
		h.write("Content-Type", mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": mw.Boundary()}))
		w.WriteString("\r\n")
		for _, p := range []struct{ typ, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
			// A bytes.Buffer cannot fail a write, so neither can the part.
			pw, _ := mw.CreatePart(textproto.MIMEHeader{
				"Content-Type":              {p.typ + "; charset=utf-8"},
				"Content-Transfer-Encoding": {"quoted-printable"},
			})
			writeQuotedPrintable(pw, p.body)
		}
		mw.Close()
	case m.Text != "":
		writeSinglePart(&h, "text/plain", m.Text)
	default:
		writeSinglePart(&h, "text/html", m.HTML)
	}
	b.data = w.Bytes()
	return b, nil
}

func writeSinglePart(h *headerWriter, typ, body string) {
	h.write("Content-Type", typ+"; charset=utf-8")
	h.write("Content-Transfer-Encoding", "quoted-printable")
	h.w.WriteString("\r\n")
	writeQuotedPrintable(h.w, body)
}

// writeQuotedPrintable writes body as quoted-printable: 7-bit lines of at
// most 76 characters whatever the text, which every server relays
// unchanged. The writer turns the body's line breaks into CRLF.
func writeQuotedPrintable(w io.Writer, body string) {
	qp := quotedprintable.NewWriter(w)
	io.WriteString(qp, body)
	qp.Close()
}

// parseAddress reads one address, "a@b" or "Name <a@b>", for header field.
func parseAddress(field, raw string) (*mail.Address, error) {
	if err := checkValue(field, raw); err != nil {
		return nil, err
	}
	a, err := mail.ParseAddress(raw)
	if err != nil {
		return nil, qm.Errorf(qm.EInvalid, "e-mail %s address %q is not valid", field, raw)
	}
	return a, nil
}

// checkValue refuses control characters other than tab in a header value:
// CR and LF would end the header and start one of the sender's choosing,
// and the rest have no business in a header.
func checkValue(field, v string) error {
	for _, r := range v {
		if r < ' ' && r != '\t' || r == 0x7f {
			return qm.Errorf(qm.EInvalid, "e-mail %s may not contain line breaks or control characters", field)
		}
	}
	if !utf8.ValidString(v) {
		return qm.Errorf(qm.EInvalid, "e-mail %s is not valid UTF-8", field)
	}
	return nil
}

// checkName accepts a header field name of RFC 5322 (printable ASCII but
// the colon) that is not one of ownHeaders.
func checkName(name string) error {
	if name == "" {
		return qm.Errorf(qm.EInvalid, "e-mail header name is empty")
	}
	for _, c := range []byte(name) {
		if c <= ' ' || c >= 0x7f || c == ':' {
			return qm.Errorf(qm.EInvalid, "e-mail header name %q is not valid", name)
		}
	}
	if slices.Contains(ownHeaders, textproto.CanonicalMIMEHeaderKey(name)) {
		return qm.Errorf(qm.EInvalid, "e-mail header %s is set by the message itself", name)
	}
	return nil
}

// headerWriter writes "Name: value" lines, folded at spaces, and keeps the
// first error: a line that cannot be folded under maxLine.
type headerWriter struct {
	w   *bytes.Buffer
	err error
}

func (h *headerWriter) write(name, value string) {
	if h.err != nil {
		return
	}
	line := name + ": "
	n := len(line)
	h.w.WriteString(line)
	for i, word := range strings.Split(value, " ") {
		if i > 0 {
			// A fold is a CRLF before the space: readers unfold it back to
			// the one space, and between two encoded words it is ignored.
			if word != "" && n+1+len(word) > foldAt {
				h.w.WriteString("\r\n")
				n = 0
			}
			h.w.WriteByte(' ')
			n++
		}
		h.w.WriteString(word)
		n += len(word)
		if n > maxLine {
			h.err = qm.Errorf(qm.EInvalid, "e-mail %s has a word too long for one line", name)
			return
		}
	}
	h.w.WriteString("\r\n")
}

// messageID makes a globally unique Message-ID in the sender's domain, as
// RFC 5322 asks: random left of the @, the domain right of it.
func messageID(from string) string {
	var r [16]byte
	rand.Read(r[:])
	domain := from[strings.LastIndexByte(from, '@')+1:]
	return "<" + hex.EncodeToString(r[:]) + "@" + domain + ">"
}
