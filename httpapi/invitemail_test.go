package httpapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"strconv"
	"strings"
	"testing"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/httpapi"
	"github.com/quartermaster/qm/internal/smtptest"
	qmmail "github.com/quartermaster/qm/mail"
)

// TestInvitationMail: with a mail server set, an invitation's link is
// e-mailed to the person invited, through a real SMTP server; when the
// mail fails, the invitation stands and the reply says why.
func TestInvitationMail(t *testing.T) {
	be := &smtptest.Backend{}
	port := smtptest.Start(t, be, smtptest.Options{})
	sender := func(port int) *qmmail.Sender {
		smtp, err := qmmail.ParseURL("smtp://127.0.0.1:" + strconv.Itoa(port))
		if err != nil {
			t.Fatal(err)
		}
		return &qmmail.Sender{Config: smtp}
	}
	// A port nothing listens on: a listener opened and closed.
	closed := httptest.NewServer(http.NotFoundHandler())
	deadPort, _ := strconv.Atoi(closed.URL[strings.LastIndex(closed.URL, ":")+1:])
	closed.Close()
	var mailer *qmmail.Invitations
	f := newFixtureWith(t, backends[0], func(cfg *httpapi.Config) {
		mailer = &qmmail.Invitations{InvitationService: cfg.Services.Invitations, Sender: sender(port), From: "team@qm.example"}
		cfg.Services.Invitations = mailer
	})
	a := f.a
	invite := func(email string) qm.Invitation {
		t.Helper()
		res := f.do(t, a.admin, "POST", tenantPath("/members")(a), `{"email":"`+email+`","role":"viewer"}`)
		mustStatus(t, res, http.StatusCreated, "invite "+email)
		var inv qm.Invitation
		if err := json.Unmarshal(res.Body.Bytes(), &inv); err != nil {
			t.Fatal(err)
		}
		return inv
	}
	inv := invite("sam@a.example")
	ms := be.Delivered()
	if !inv.Mailed || inv.MailError != "" || len(ms) != 1 || ms[0].To[0] != "sam@a.example" || ms[0].From != "team@qm.example" {
		t.Fatalf("invitation %+v, mail %+v; want the link mailed to sam", inv, ms)
	}
	msg, err := mail.ReadMessage(strings.NewReader(string(ms[0].Data)))
	if err != nil {
		t.Fatal(err)
	}
	if body, _ := io.ReadAll(msg.Body); !strings.Contains(msg.Header.Get("Subject"), a.t.Name) || !strings.Contains(strings.ReplaceAll(string(body), "=\r\n", ""), inv.Link) {
		t.Fatalf("the mail (subject %q) does not carry the link %s:\n%s", msg.Header.Get("Subject"), inv.Link, ms[0].Data)
	}

	mailer.Sender = sender(deadPort)
	inv = invite("kim@a.example")
	if inv.Mailed || inv.MailError == "" || inv.Link == "" {
		t.Fatalf("invitation with the mail server down: %+v; want its link and the mail's error", inv)
	}
	res := f.do(t, a.admin, "GET", tenantPath("/invitations")(a), "")
	if !strings.Contains(res.Body.String(), "kim@a.example") {
		t.Fatalf("the invitation whose mail failed is not listed: %s", res.Body)
	}
}
