package mail

import (
	"crypto/tls"
	"strconv"
	"testing"
)

// MustSender returns a Sender for the URL with the given user part ("" for
// none) and the server on port.
func MustSender(t *testing.T, scheme, user string, port int, tlsConfig *tls.Config) *Sender {
	t.Helper()
	raw := scheme + "://" + user + "127.0.0.1:" + strconv.Itoa(port)
	cfg, err := ParseURL(raw)
	if err != nil {
		t.Fatalf("ParseURL(%q): %v", raw, err)
	}
	return &Sender{Config: cfg, TLSConfig: tlsConfig}
}
