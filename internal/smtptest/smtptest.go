// Package smtptest is the SMTP server tests send mail to: emersion/go-smtp
// on a loopback port of the kernel's choosing, with a backend that keeps
// what it is given, and may demand AUTH or refuse a recipient.
package smtptest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Backend records messages, and may demand AUTH or refuse a recipient.
type Backend struct {
	Username, Password string // AUTH required when Username is set
	Refuse             string // a recipient to refuse

	mu   sync.Mutex
	msgs []Delivered
}

// Delivered is one message as the server took it.
type Delivered struct {
	From   string
	To     []string
	Data   []byte
	TLS    bool   // the session was over TLS when the message came
	AuthAs string // the user the session authenticated as
}

// NewSession implements smtp.Backend.
func (be *Backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	_, isTLS := c.TLSConnectionState()
	return &session{be: be, tls: isTLS}, nil
}

// Delivered returns the messages taken so far.
func (be *Backend) Delivered() []Delivered {
	be.mu.Lock()
	defer be.mu.Unlock()
	return append([]Delivered(nil), be.msgs...)
}

type session struct {
	be     *Backend
	tls    bool
	authAs string
	from   string
	to     []string
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, username, password string) error {
		if username != s.be.Username || password != s.be.Password {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication credentials invalid"}
		}
		s.authAs = username
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.be.Username != "" && s.authAs == "" {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if to == s.be.Refuse {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user here"}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.be.mu.Lock()
	defer s.be.mu.Unlock()
	s.be.msgs = append(s.be.msgs, Delivered{From: s.from, To: s.to, Data: data, TLS: s.tls, AuthAs: s.authAs})
	return nil
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

// Options say how Start's server speaks.
type Options struct {
	STARTTLS *tls.Config // offer STARTTLS with this
	Implicit *tls.Config // TLS from the first byte with this
}

// Start starts a server for be and returns its port; it is closed when
// the test ends.
func Start(t testing.TB, be *Backend, o Options) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if o.Implicit != nil {
		ln = tls.NewListener(ln, o.Implicit)
	}
	srv := smtp.NewServer(be)
	srv.Domain = "localhost"
	srv.TLSConfig = o.STARTTLS
	srv.ErrorLog = log.New(io.Discard, "", 0)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, smtp.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	}()
	t.Cleanup(func() {
		srv.Close()
		// Close closes only the listeners Serve has registered: when a test
		// ends before Serve got that far, Serve would wait in Accept for
		// ever.
		ln.Close()
		<-done
	})
	return port
}

// MustCertificate makes a self-signed ECDSA certificate for 127.0.0.1 and
// localhost, valid for the next hour, and returns the server's TLS config
// and a client's that trusts it and nothing else.
func MustCertificate(t testing.TB) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "quartermaster mail test"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}}}
	return server, &tls.Config{RootCAs: pool}
}
