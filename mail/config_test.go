package mail

import (
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		name string
		url  string
		want Config
		err  string // a word the error must hold; "" for OK
	}{
		{name: "OK", url: "smtp://mail.example.com", want: Config{Host: "mail.example.com", Port: 587}},
		{name: "OKPort", url: "smtp://mail.example.com:25", want: Config{Host: "mail.example.com", Port: 25}},
		{name: "OKCredentials", url: "smtp://user:pass@mail.example.com:2525", want: Config{Host: "mail.example.com", Port: 2525, Username: "user", Password: "pass"}},
		{name: "OKEncodedCredentials", url: "smtp://me%40example.com:p%40ss%3Aw%2Frd@mail.example.com", want: Config{Host: "mail.example.com", Port: 587, Username: "me@example.com", Password: "p@ss:w/rd"}},
		{name: "OKUserOnly", url: "smtp://user@mail.example.com", want: Config{Host: "mail.example.com", Port: 587, Username: "user"}},
		{name: "OKTrailingSlash", url: "smtp://mail.example.com/", want: Config{Host: "mail.example.com", Port: 587}},
		{name: "OKIPv6", url: "smtp://[2001:db8::25]:587", want: Config{Host: "2001:db8::25", Port: 587}},
		{name: "OKImplicitTLS", url: "smtps://user:pass@mail.example.com", want: Config{Host: "mail.example.com", Port: 465, Username: "user", Password: "pass", ImplicitTLS: true}},
		{name: "ErrEmpty", url: "", err: "empty"},
		{name: "ErrTooLong", url: "smtp://" + strings.Repeat("a", maxURLLen), err: "longer"},
		{name: "ErrScheme", url: "http://mail.example.com", err: "smtp://"},
		{name: "ErrNoScheme", url: "mail.example.com:587", err: "smtp://"},
		{name: "ErrCredentialsNoScheme", url: "user:secret@mail.example.com", err: "smtp://"},
		{name: "ErrOpaque", url: "smtp:mail.example.com", err: "no host"},
		{name: "ErrNoHost", url: "smtp://", err: "no host"},
		{name: "ErrNoHostname", url: "smtp://:587", err: "no host"},
		{name: "ErrPath", url: "smtp://mail.example.com/relay", err: "path"},
		{name: "ErrQuery", url: "smtp://mail.example.com?tls=off", err: "query"},
		{name: "ErrFragment", url: "smtp://mail.example.com#x", err: "fragment"},
		{name: "ErrPortZero", url: "smtp://mail.example.com:0", err: "port"},
		{name: "ErrPortTooBig", url: "smtp://mail.example.com:70000", err: "port"},
		{name: "ErrPasswordNoUser", url: "smtp://:secret@mail.example.com", err: "no user name"},
		{name: "ErrUnparsable", url: "smtp://user:sec%zzret@mail.example.com", err: "percent-encode"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseURL(tc.url)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want an error mentioning %q", err, tc.err)
				}
				if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "sec%zzret") {
					t.Errorf("got %q, which shows the password", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("got %v, want nil", err)
			}
			if got != tc.want {
				t.Errorf("got %#v, want %#v", got.withPassword(), tc.want.withPassword())
			}
		})
	}
}

// withPassword is c as a plain struct, password and all, for messages about
// tests that compare passwords.
func (c Config) withPassword() string {
	return fmt.Sprintf("{Host:%q Port:%d Username:%q Password:%q ImplicitTLS:%v}", c.Host, c.Port, c.Username, c.Password, c.ImplicitTLS)
}

// TestConfigHidesPassword prints a Config, and a Sender holding one, every
// way a log line or an error message might.
func TestConfigHidesPassword(t *testing.T) {
	cfg, err := ParseURL("smtps://alice:hunter2@mail.example.com:1465")
	if err != nil {
		t.Fatal(err)
	}
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("mail", "smtp", cfg)
	for name, s := range map[string]string{
		"String":    cfg.String(),
		"v":         fmt.Sprintf("%v", cfg),
		"+v":        fmt.Sprintf("%+v", cfg),
		"#v":        fmt.Sprintf("%#v", cfg),
		"q":         fmt.Sprintf("%q", cfg),
		"Sender+v":  fmt.Sprintf("%+v", Sender{Config: cfg}),
		"Sender#v":  fmt.Sprintf("%#v", Sender{Config: cfg}),
		"SenderPtr": fmt.Sprintf("%+v", &Sender{Config: cfg}),
		"slog":      logged.String(),
	} {
		t.Run(name, func(t *testing.T) {
			if strings.Contains(s, "hunter2") {
				t.Errorf("got %q, which shows the password", s)
			}
			if !strings.Contains(s, "smtps://alice@mail.example.com:1465") {
				t.Errorf("got %q, want it to name smtps://alice@mail.example.com:1465", s)
			}
		})
	}
}

// FuzzParseURL checks that ParseURL does not panic, that what it accepts
// is usable and comes back the same from its own String (less the
// password), and that its errors do not repeat a password.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{
		"smtp://mail.example.com",
		"smtps://user:pass@mail.example.com:465",
		"smtp://me%40example.com:p%40ss@[::1]:25/",
		"smtp://user:a-long-password-here@mail.example.com:0",
		"smtp://user:a-long-password-here@mail.example.com/path",
		"smtp://user:a%zzlong-password@host",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		cfg, err := ParseURL(raw)
		if err != nil {
			u, perr := url.Parse(raw)
			if perr != nil || u.User == nil {
				return
			}
			// Only a long password, not also in the parts an error may
			// name, can be told apart from the message's own words.
			pw, _ := u.User.Password()
			if len(pw) >= 12 && !strings.Contains(u.Host+u.User.Username()+u.Scheme, pw) && strings.Contains(err.Error(), pw) {
				t.Fatalf("error %q shows the password %q", err, pw)
			}
			return
		}
		if cfg.Host == "" || cfg.Port < 1 || cfg.Port > 65535 || (cfg.Password != "" && cfg.Username == "") {
			t.Fatalf("accepted %q as %s", raw, cfg.withPassword())
		}
		back, err := ParseURL(cfg.String())
		want := cfg
		want.Password = ""
		if err != nil || back != want {
			t.Fatalf("%q: String %q reads back as %s (%v), want %s", raw, cfg.String(), back.withPassword(), err, want.withPassword())
		}
	})
}
