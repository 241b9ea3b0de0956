package webhook

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/quartermaster/qm"
)

func TestCheckURL(t *testing.T) {
	for _, tc := range []struct {
		name         string
		url          string
		allowPrivate bool
		want         string // a word the message must hold; "" for OK
	}{
		{name: "OK", url: "https://hooks.example.com/quartermaster"},
		{name: "OKPortAndQuery", url: "http://hooks.example.com:8080/in?token=abc"},
		{name: "OKPublicAddress", url: "https://93.184.216.34/hook"},
		{name: "OKPublicIPv6", url: "https://[2606:2800:220:1:248:1893:25c8:1946]/hook"},
		{name: "OKNameNotResolvedHere", url: "http://localhost:8080/"},
		{name: "OKLoopbackAllowed", url: "http://127.0.0.1:8080/", allowPrivate: true},
		{name: "OKMetadataAllowed", url: "http://169.254.169.254/", allowPrivate: true},
		{name: "ErrEmpty", url: "", want: "empty"},
		{name: "ErrTooLong", url: "https://example.com/" + strings.Repeat("a", maxURLLen), want: "longer"},
		{name: "ErrUnparsable", url: "http://[::1", want: "parsed"},
		{name: "ErrNoScheme", url: "hooks.example.com/quartermaster", want: "http://"},
		{name: "ErrFTP", url: "ftp://hooks.example.com/", want: "http://"},
		{name: "ErrJavaScript", url: "javascript:alert(1)", want: "http://"},
		{name: "ErrFile", url: "file:///etc/passwd", want: "http://"},
		{name: "ErrFTPAllowedPrivate", url: "ftp://127.0.0.1/", allowPrivate: true, want: "http://"},
		{name: "ErrUserinfo", url: "https://user:pw@hooks.example.com/", want: "user name or password"},
		{name: "ErrUserinfoAllowedPrivate", url: "https://user@127.0.0.1/", allowPrivate: true, want: "user name or password"},
		{name: "ErrNoHost", url: "https:///hook", want: "no host"},
		{name: "ErrPortZero", url: "https://hooks.example.com:0/", want: "port"},
		{name: "ErrPortTooBig", url: "https://hooks.example.com:65536/", want: "port"},
		{name: "ErrZone", url: "http://[fe80::1%25eth0]/", allowPrivate: true, want: "interface"},
		{name: "ErrLoopback", url: "http://127.0.0.1/", want: "loopback"},
		{name: "ErrLoopbackOtherHost", url: "http://127.3.2.1:9000/", want: "loopback"},
		{name: "ErrLoopbackIPv6", url: "http://[::1]:8080/", want: "loopback"},
		{name: "ErrMetadata", url: "http://169.254.169.254/latest/meta-data/", want: "metadata"},
		{name: "ErrLinkLocal", url: "http://169.254.1.1/", want: "link-local"},
		{name: "ErrPrivate10", url: "http://10.0.0.1/", want: "private"},
		{name: "ErrPrivate172", url: "http://172.16.5.4/", want: "private"},
		{name: "ErrPrivate192", url: "https://192.168.1.1/", want: "private"},
		{name: "ErrUniqueLocal", url: "http://[fd00::1]/", want: "unique local"},
		{name: "ErrCGNAT", url: "http://100.64.0.1/", want: "carrier-grade NAT"},
		{name: "ErrUnspecified", url: "http://0.0.0.0:8080/", want: "this network"},
		{name: "ErrMappedLoopback", url: "http://[::ffff:127.0.0.1]/", want: "loopback"},
		{name: "ErrMappedMetadata", url: "http://[::ffff:a9fe:a9fe]/", want: "metadata"},
		{name: "ErrDecimalAddress", url: "http://2130706433/", want: "unusual form"},
		{name: "ErrHexAddress", url: "http://0x7f.1/", want: "unusual form"},
		{name: "ErrShortAddress", url: "http://127.1/", want: "unusual form"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckURL(tc.url, tc.allowPrivate)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			}
			if code := qm.ErrorCode(err); code != qm.EInvalid {
				t.Fatalf("got code %q (%v), want %q", code, err, qm.EInvalid)
			}
			if msg := qm.ErrorMessage(err); !strings.Contains(msg, tc.want) {
				t.Errorf("got %q, want it to mention %q", msg, tc.want)
			}
		})
	}
}

// TestGuard calls the dial guard as the dialer does, with the address a
// connection is about to reach after DNS resolution. Nothing is dialled.
func TestGuard(t *testing.T) {
	for _, tc := range []struct {
		name    string
		network string
		address string
		want    string // a word the error must hold; "" for allowed
	}{
		{name: "OKPublic", address: "93.184.216.34:443"},
		{name: "OKPublicIPv6", network: "tcp6", address: "[2606:2800:220:1:248:1893:25c8:1946]:443"},
		{name: "OKMappedPublic", network: "tcp6", address: "[::ffff:93.184.216.34]:443"},
		{name: "OKNAT64Public", network: "tcp6", address: "[64:ff9b::5db8:d822]:443"},
		{name: "OK6to4Public", network: "tcp6", address: "[2002:5db8:d822::1]:443"},
		{name: "ErrLoopback", address: "127.0.0.1:80", want: "loopback"},
		{name: "ErrLoopbackRange", address: "127.255.0.1:80", want: "loopback"},
		{name: "ErrLoopbackIPv6", network: "tcp6", address: "[::1]:80", want: "loopback"},
		{name: "ErrMetadata", address: "169.254.169.254:80", want: "metadata"},
		{name: "ErrMetadataIPv6", network: "tcp6", address: "[fd00:ec2::254]:80", want: "unique local"},
		{name: "ErrLinkLocal", address: "169.254.10.20:80", want: "link-local"},
		{name: "ErrLinkLocalIPv6", network: "tcp6", address: "[fe80::1%eth0]:80", want: "link-local"},
		{name: "ErrPrivate10", address: "10.0.0.1:443", want: "private"},
		{name: "ErrPrivate172", address: "172.31.255.255:443", want: "private"},
		{name: "ErrPrivate192", address: "192.168.0.10:443", want: "private"},
		{name: "ErrUniqueLocal", network: "tcp6", address: "[fc00::1]:443", want: "unique local"},
		{name: "ErrCGNAT", address: "100.127.255.254:443", want: "carrier-grade NAT"},
		{name: "ErrThisNetwork", address: "0.1.2.3:80", want: "this network"},
		{name: "ErrUnspecified", address: "0.0.0.0:80", want: "this network"},
		{name: "ErrUnspecifiedIPv6", network: "tcp6", address: "[::]:80", want: "unspecified"},
		{name: "ErrMulticast", address: "224.0.0.1:80", want: "multicast"},
		{name: "ErrMulticastIPv6", network: "tcp6", address: "[ff02::1]:80", want: "multicast"},
		{name: "ErrBroadcast", address: "255.255.255.255:80", want: "reserved"},
		{name: "ErrDocumentation", address: "192.0.2.1:80", want: "documentation"},
		{name: "ErrBenchmarking", address: "198.18.0.1:80", want: "benchmarking"},
		{name: "ErrMappedLoopback", network: "tcp6", address: "[::ffff:127.0.0.1]:80", want: "IPv4-mapped 127.0.0.1, loopback"},
		{name: "ErrMappedMetadata", network: "tcp6", address: "[::ffff:169.254.169.254]:80", want: "metadata"},
		{name: "ErrMappedPrivate", network: "tcp6", address: "[::ffff:10.0.0.1]:80", want: "private"},
		{name: "ErrCompatible", network: "tcp6", address: "[::7f00:1]:80", want: "IPv4-compatible"},
		{name: "ErrNAT64Loopback", network: "tcp6", address: "[64:ff9b::7f00:1]:80", want: "NAT64 127.0.0.1, loopback"},
		{name: "Err6to4Metadata", network: "tcp6", address: "[2002:a9fe:a9fe::]:80", want: "6to4 169.254.169.254"},
		{name: "ErrTeredo", network: "tcp6", address: "[2001:0:4136:e378:8000:63bf:3fff:fdd2]:80", want: "Teredo"},
		{name: "ErrSiteLocal", network: "tcp6", address: "[fec0::1]:80", want: "site-local"},
		{name: "ErrUDP", network: "udp4", address: "93.184.216.34:53", want: "TCP"},
		{name: "ErrNotAnAddress", address: "localhost:80", want: "cannot read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			network := tc.network
			if network == "" {
				network = "tcp4"
			}
			err := guard{}.control(context.Background(), network, tc.address, nil)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrForbiddenAddress) {
				t.Fatalf("got %v, want ErrForbiddenAddress", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %q, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestCheckAddrInvalid(t *testing.T) {
	if err := CheckAddr(netip.Addr{}); !errors.Is(err, ErrForbiddenAddress) {
		t.Errorf("got %v, want ErrForbiddenAddress", err)
	}
}

func TestCheckTarget(t *testing.T) {
	for _, tc := range []struct {
		url          string
		allowPrivate bool
		refused      bool
	}{
		{"http://localhost:8080/hook", false, true}, // a name for loopback
		{"http://127.0.0.1/hook", false, true},
		{"http://169.254.169.254/latest/meta-data", false, true},
		{"http://10.1.2.3/hook", false, true},
		{"http://localhost:8080/hook", true, false},
		{"https://203.0.113.7/hook", false, true},           // documentation range
		{"https://no-such-name.invalid/hook", false, false}, // judged at every dial
		{"https://8.8.8.8/hook", false, false},              // public
		{"ftp://example.com/hook", true, true},              // never
	} {
		err := CheckTarget(context.Background(), tc.url, tc.allowPrivate)
		if (err != nil) != tc.refused {
			t.Errorf("CheckTarget(%s, allowPrivate %v): got %v, want refused %v", tc.url, tc.allowPrivate, err, tc.refused)
		}
		if err != nil && qm.ErrorCode(err) != qm.EInvalid {
			t.Errorf("CheckTarget(%s): got %v, want an EInvalid error to show the tenant", tc.url, err)
		}
	}
}
