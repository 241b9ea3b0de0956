package mail

import (
	"bytes"
	"mime"
	"net/mail"
	"net/textproto"
	"slices"
	"strings"
	"testing"
)

// FuzzMessage builds messages from hostile values and reads them back as a
// mail reader would: whatever build accepts has exactly the headers it
// writes, once each, with the subject and text as given. A value that could
// end its line and start a header of its own would show up as an extra or
// a missing header here.
func FuzzMessage(f *testing.F) {
	f.Add("alerts@qm.example", "ops@tenant.example", "Alarm", "Reply-To", "support@qm.example", "Text.")
	f.Add("Q <alerts@qm.example>", "Zoë <zoe@tenant.example>", "Kühlraum über 8 °C", "X-Event", "évt 42", "Grüße\r\n.\r\n")
	f.Add("a@b.example", "c@d.example", "Hi\r\nBcc: victim@example.com", "X-A", "b", "x")
	f.Add("\"a\r\nBcc: v@example.com\" <a@b.example>", "c@d.example", "Hi", "X-A\r\nBcc", "v@example.com", "x")
	f.Add("a@b.example", "c@d.example", strings.Repeat("long words ", 40), "X-A", strings.Repeat("x", 990), "=\n.\r..\r\n")
	f.Fuzz(func(t *testing.T, from, to, subject, name, value, text string) {
		b, err := Message{From: from, To: []string{to}, Subject: subject, Text: text, Header: map[string]string{name: value}}.build(sentAt)
		if err != nil {
			return
		}
		msg, err := mail.ReadMessage(bytes.NewReader(b.data))
		if err != nil {
			t.Fatalf("built a message that does not parse: %v\n%q", err, b.data)
		}
		want := []string{"Content-Transfer-Encoding", "Content-Type", "Date", "From", "Message-Id", "Mime-Version", "Subject", "To", textproto.CanonicalMIMEHeaderKey(name)}
		slices.Sort(want)
		var got []string
		for k, v := range msg.Header {
			for range v {
				got = append(got, k)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("got headers %q, want %q\n%q", got, want, b.data)
		}
		if len(b.to) != 1 || strings.ContainsAny(b.from+b.to[0], "\r\n") {
			t.Fatalf("got envelope %q to %q", b.from, b.to)
		}
		// Readers trim and unfold: compare the subject where that changes
		// nothing, and where no text in it looks like an encoded word.
		if subject == strings.Join(strings.Fields(subject), " ") && !strings.Contains(subject, "=?") {
			var dec mime.WordDecoder
			if got, err := dec.DecodeHeader(msg.Header.Get("Subject")); err != nil || got != subject {
				t.Fatalf("got subject %q (%v), want %q", got, err, subject)
			}
		}
		if text != "" {
			p := mustDecode(t, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
			if want := strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\r", "\n"); p.body != want {
				t.Fatalf("got text %q, want %q", p.body, want)
			}
		}
	})
}
