package mail

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"github.com/quartermaster/qm/internal/smtptest"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quartermaster/qm"
)

var sentAt = time.Date(2026, 11, 28, 12, 30, 0, 0, time.FixedZone("CET", 3600))

// part is one body of a received message, decoded.
type part struct {
	contentType string
	body        string
}

// MustRead parses a received message as a mail reader would: the headers
// with net/mail, the body with mime/multipart when it has parts, each part
// decoded from quoted-printable. Line breaks come back as "\n".
func MustRead(t *testing.T, data []byte) (mail.Header, []part) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("read message: %v\n%s", err, data)
	}
	media, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type: %v", err)
	}
	if media != "multipart/alternative" {
		p := mustDecode(t, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
		// SMTP ends the data with a line break, which a body that is the
		// whole message keeps; a part's last one belongs to the boundary.
		p.body = strings.TrimSuffix(p.body, "\n")
		return msg.Header, []part{p}
	}
	var parts []part
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		// NextRawPart leaves the transfer encoding to us, to check it.
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("next part: %v", err)
		}
		parts = append(parts, mustDecode(t, p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p))
	}
	return msg.Header, parts
}

func mustDecode(t *testing.T, contentType, encoding string, r io.Reader) part {
	t.Helper()
	if encoding != "quoted-printable" {
		t.Fatalf("got Content-Transfer-Encoding %q, want quoted-printable", encoding)
	}
	raw, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\r\n") {
		if len(line) > 76 {
			t.Errorf("got a %d-character line, want at most 76: %q", len(line), line)
		}
	}
	body, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatalf("quoted-printable: %v", err)
	}
	return part{contentType: contentType, body: strings.ReplaceAll(string(body), "\r\n", "\n")}
}

func TestSend(t *testing.T) {
	long := strings.Repeat("Ein langer Satz über den Alarm, der weitergeht. ", 10)
	for _, tc := range []struct {
		name      string
		msg       Message
		wantParts []part
	}{
		{
			name: "TextAndHTML",
			msg: Message{
				From:    "Quartermaster Üsküdar <alerts@qm.example>",
				To:      []string{"ops@tenant.example", "Zoë Fontaine <zoe@tenant.example>"},
				Subject: "Alarm: Kühlraum 3 über 8 °C",
				Text:    "Grüße,\nder Kühlraum ist zu warm.\n\n" + long,
				HTML:    "<p>Grüße,</p>\n<p>der <b>Kühlraum</b> ist zu warm — 9,5 °C.</p>",
			},
			wantParts: []part{
				{contentType: "text/plain; charset=utf-8", body: "Grüße,\nder Kühlraum ist zu warm.\n\n" + long},
				{contentType: "text/html; charset=utf-8", body: "<p>Grüße,</p>\n<p>der <b>Kühlraum</b> ist zu warm — 9,5 °C.</p>"},
			},
		},
		{
			name: "TextOnly",
			msg: Message{
				From:    "alerts@qm.example",
				To:      []string{"ops@tenant.example"},
				Subject: "You are invited to Quartermaster",
				Text:    "Open https://qm.example/invite/abc=def to join.\n.\nA line that is a lone dot, above.",
			},
			wantParts: []part{{contentType: "text/plain; charset=utf-8", body: "Open https://qm.example/invite/abc=def to join.\n.\nA line that is a lone dot, above."}},
		},
		{
			name: "HTMLOnly",
			msg: Message{
				From:    "alerts@qm.example",
				To:      []string{"ops@tenant.example"},
				Subject: strings.Repeat("A long subject that has to be folded ", 5) + "日本語の件名",
				HTML:    "<p>日本語</p>",
				Header:  map[string]string{"Reply-To": "support@qm.example", "X-Quartermaster-Event": "evt_42"},
			},
			wantParts: []part{{contentType: "text/html; charset=utf-8", body: "<p>日本語</p>"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			be := &smtptest.Backend{}
			s := MustSender(t, "smtp", "", smtptest.Start(t, be, smtptest.Options{}), nil)
			s.Now = func() time.Time { return sentAt }
			if err := s.Send(context.Background(), tc.msg); err != nil {
				t.Fatalf("send: %v", err)
			}
			got := be.Delivered()
			if len(got) != 1 {
				t.Fatalf("got %d messages, want 1", len(got))
			}
			d := got[0]
			if d.From != "alerts@qm.example" {
				t.Errorf("got envelope sender %q, want alerts@qm.example", d.From)
			}
			var wantTo []string
			for _, to := range tc.msg.To {
				a, _ := mail.ParseAddress(to)
				wantTo = append(wantTo, a.Address)
			}
			if !slices.Equal(d.To, wantTo) {
				t.Errorf("got envelope recipients %q, want %q", d.To, wantTo)
			}
			if d.TLS {
				t.Error("got TLS from a server that offers none")
			}

			h, parts := MustRead(t, d.Data)
			var dec mime.WordDecoder
			if subject, err := dec.DecodeHeader(h.Get("Subject")); err != nil || subject != tc.msg.Subject {
				t.Errorf("got subject %q (%v), want %q", subject, err, tc.msg.Subject)
			}
			from, err := h.AddressList("From")
			if err != nil || len(from) != 1 || from[0].String() != mustAddress(t, tc.msg.From).String() {
				t.Errorf("got From %v (%v), want %s", from, err, tc.msg.From)
			}
			to, err := h.AddressList("To")
			if err != nil || len(to) != len(tc.msg.To) {
				t.Errorf("got To %v (%v), want %q", to, err, tc.msg.To)
			}
			if date, err := h.Date(); err != nil || !date.Equal(sentAt) {
				t.Errorf("got Date %v (%v), want %v", date, err, sentAt)
			}
			if id := h.Get("Message-ID"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@qm.example>") {
				t.Errorf("got Message-ID %q, want <…@qm.example>", id)
			}
			if v := h.Get("MIME-Version"); v != "1.0" {
				t.Errorf("got MIME-Version %q, want 1.0", v)
			}
			for name, want := range tc.msg.Header {
				if v := h.Get(name); v != want {
					t.Errorf("got %s %q, want %q", name, v, want)
				}
			}
			if !slices.Equal(parts, tc.wantParts) {
				t.Errorf("got parts %q, want %q", parts, tc.wantParts)
			}
			for _, line := range strings.Split(string(d.Data), "\r\n") {
				if len(line) > maxLine {
					t.Errorf("got a %d-byte line, want at most %d", len(line), maxLine)
				}
			}
		})
	}
}

func mustAddress(t *testing.T, s string) *mail.Address {
	t.Helper()
	a, err := mail.ParseAddress(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

var hello = Message{From: "alerts@qm.example", To: []string{"ops@tenant.example"}, Subject: "Hello", Text: "Hello."}

func TestSendTLS(t *testing.T) {
	serverTLS, clientTLS := smtptest.MustCertificate(t)
	for _, tc := range []struct {
		name      string
		scheme    string
		server    smtptest.Options
		clientTLS *tls.Config
		want      string // "" for delivered over TLS
	}{
		{name: "STARTTLS", scheme: "smtp", server: smtptest.Options{STARTTLS: serverTLS}, clientTLS: clientTLS},
		{name: "ImplicitTLS", scheme: "smtps", server: smtptest.Options{Implicit: serverTLS}, clientTLS: clientTLS},
		{name: "ErrSTARTTLSUntrusted", scheme: "smtp", server: smtptest.Options{STARTTLS: serverTLS}, want: "certificate"},
		{name: "ErrImplicitTLSUntrusted", scheme: "smtps", server: smtptest.Options{Implicit: serverTLS}, want: "certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			be := &smtptest.Backend{}
			s := MustSender(t, tc.scheme, "", smtptest.Start(t, be, tc.server), tc.clientTLS)
			err := s.Send(context.Background(), hello)
			got := be.Delivered()
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("got %v, want an error about the %s", err, tc.want)
				}
				if len(got) != 0 {
					t.Errorf("got %d messages, want none: no falling back to plain text", len(got))
				}
				return
			}
			if err != nil {
				t.Fatalf("send: %v", err)
			}
			if len(got) != 1 || !got[0].TLS {
				t.Errorf("got %+v, want one message over TLS", got)
			}
		})
	}
}

func TestSendAuth(t *testing.T) {
	serverTLS, clientTLS := smtptest.MustCertificate(t)
	const password = "p@ss:wörd/1"
	for _, tc := range []struct {
		name string
		user string // the URL's user part
		tls  bool   // the server offers STARTTLS
		want string // "" for delivered as alice
	}{
		{name: "OK", user: "alice:p%40ss%3Aw%C3%B6rd%2F1@", tls: true},
		{name: "ErrWrongPassword", user: "alice:guess@", tls: true, want: "Authentication credentials invalid"},
		{name: "ErrNoCredentials", user: "", tls: true, want: "Please authenticate first"},
		{name: "ErrNoTLS", user: "alice:p%40ss%3Aw%C3%B6rd%2F1@", tls: false, want: "does not offer AUTH"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			be := &smtptest.Backend{Username: "alice", Password: password}
			o := smtptest.Options{}
			if tc.tls {
				o.STARTTLS = serverTLS
			}
			s := MustSender(t, "smtp", tc.user, smtptest.Start(t, be, o), clientTLS)
			err := s.Send(context.Background(), hello)
			got := be.Delivered()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("send: %v", err)
				}
				if len(got) != 1 || got[0].AuthAs != "alice" || !got[0].TLS {
					t.Errorf("got %+v, want one message from alice over TLS", got)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error saying %q", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "guess") {
				t.Errorf("got %q, which shows the password", err)
			}
			if len(got) != 0 {
				t.Errorf("got %d messages, want none", len(got))
			}
		})
	}
}

func TestSendRecipientRefused(t *testing.T) {
	be := &smtptest.Backend{Refuse: "nobody@tenant.example"}
	s := MustSender(t, "smtp", "", smtptest.Start(t, be, smtptest.Options{}), nil)
	m := hello
	m.To = []string{"ops@tenant.example", "Nobody <nobody@tenant.example>"}
	err := s.Send(context.Background(), m)
	if err == nil || !strings.Contains(err.Error(), "refused recipient nobody@tenant.example") || !strings.Contains(err.Error(), "No such user here") {
		t.Errorf("got %v, want the refused recipient and the server's reason", err)
	}
	if got := be.Delivered(); len(got) != 0 {
		t.Errorf("got %d messages, want none", len(got))
	}
}

func TestSendInvalid(t *testing.T) {
	be := &smtptest.Backend{}
	s := MustSender(t, "smtp", "", smtptest.Start(t, be, smtptest.Options{}), nil)
	with := func(f func(*Message)) Message {
		m := hello
		m.Header = map[string]string{}
		f(&m)
		return m
	}
	for _, tc := range []struct {
		name string
		msg  Message
		want string
	}{
		{name: "SubjectCRLF", msg: with(func(m *Message) { m.Subject = "Hi\r\nBcc: victim@example.com" }), want: "Subject may not contain line breaks"},
		{name: "SubjectLF", msg: with(func(m *Message) { m.Subject = "Hi\nBcc: victim@example.com" }), want: "Subject"},
		{name: "SubjectCR", msg: with(func(m *Message) { m.Subject = "Hi\rBcc: victim@example.com" }), want: "Subject"},
		{name: "SubjectNUL", msg: with(func(m *Message) { m.Subject = "Hi\x00" }), want: "Subject"},
		{name: "FromCRLF", msg: with(func(m *Message) { m.From = "a@qm.example\r\nBcc: victim@example.com" }), want: "From"},
		{name: "FromNameCRLF", msg: with(func(m *Message) { m.From = "\"Evil\r\nBcc: victim@example.com\" <a@qm.example>" }), want: "From"},
		{name: "ToCRLF", msg: with(func(m *Message) { m.To = []string{"ops@tenant.example\r\nBcc: victim@example.com"} }), want: "To"},
		{name: "HeaderValueCRLF", msg: with(func(m *Message) { m.Header["Reply-To"] = "a@b.example\r\nBcc: victim@example.com" }), want: "Reply-To"},
		{name: "HeaderNameCRLF", msg: with(func(m *Message) { m.Header["X-A\r\nBcc"] = "victim@example.com" }), want: "not valid"},
		{name: "HeaderNameColon", msg: with(func(m *Message) { m.Header["Bcc: victim@example.com\r\nX-A"] = "b" }), want: "not valid"},
		{name: "HeaderOwn", msg: with(func(m *Message) { m.Header["bcc"] = "victim@example.com" }), want: "set by the message"},
		{name: "HeaderSubject", msg: with(func(m *Message) { m.Header["SUBJECT"] = "Other" }), want: "set by the message"},
		{name: "FromNotAnAddress", msg: with(func(m *Message) { m.From = "alerts" }), want: "From address"},
		{name: "ToNotAnAddress", msg: with(func(m *Message) { m.To = []string{"ops@"} }), want: "To address"},
		{name: "NoRecipient", msg: with(func(m *Message) { m.To = nil }), want: "no recipient"},
		{name: "NoBody", msg: with(func(m *Message) { m.Text = "" }), want: "no body"},
		{name: "BodyNotUTF8", msg: with(func(m *Message) { m.Text = "\xff" }), want: "UTF-8"},
		{name: "HeaderWordTooLong", msg: with(func(m *Message) { m.Header["X-Long"] = strings.Repeat("a", 1000) }), want: "too long"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Send(context.Background(), tc.msg)
			if qm.ErrorCode(err) != qm.EInvalid || !strings.Contains(qm.ErrorMessage(err), tc.want) {
				t.Errorf("got %v, want an invalid-input error mentioning %q", err, tc.want)
			}
		})
	}
	if got := be.Delivered(); len(got) != 0 {
		t.Errorf("got %d messages, want none", len(got))
	}
}

// TestSendCancelled sends to a server that accepts the connection and
// never greets: cancelling the context ends the Send.
func TestSendCancelled(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			accepted <- c
		}
	}()
	s := MustSender(t, "smtp", "", ln.Addr().(*net.TCPAddr).Port, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Send(ctx, hello) }()
	c := <-accepted
	defer c.Close()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}
