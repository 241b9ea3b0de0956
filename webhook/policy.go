package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/quartermaster/qm"
)

// maxURLLen bounds a webhook URL; longer ones are not worth storing.
const maxURLLen = 2048

// CheckURL reports whether raw may be saved as a webhook endpoint and
// delivered to. It wants an absolute http or https URL with a host, no user
// name or password (the signature authenticates us; credentials in URLs end
// up in logs), and, unless allowPrivate, no literal address that the dial
// guard would refuse. It does not resolve names: that happens at every dial.
// The error is a *qm.Error with code qm.EInvalid whose message says what is
// wrong, fit to show the tenant.
func CheckURL(raw string, allowPrivate bool) error {
	if raw == "" {
		return qm.Errorf(qm.EInvalid, "webhook URL is empty")
	}
	if len(raw) > maxURLLen {
		return qm.Errorf(qm.EInvalid, "webhook URL is longer than %d characters", maxURLLen)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return qm.Errorf(qm.EInvalid, "webhook URL cannot be parsed")
	}
	return checkURL(u, allowPrivate)
}

func checkURL(u *url.URL, allowPrivate bool) error {
	if u.Scheme != "http" && u.Scheme != "https" {
		return qm.Errorf(qm.EInvalid, "webhook URL must start with http:// or https://")
	}
	if u.User != nil {
		return qm.Errorf(qm.EInvalid, "webhook URL may not contain a user name or password")
	}
	host := u.Hostname()
	if host == "" {
		return qm.Errorf(qm.EInvalid, "webhook URL has no host")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return qm.Errorf(qm.EInvalid, "webhook URL's port must be from 1 to 65535")
		}
	}
	if strings.Contains(host, "%") {
		return qm.Errorf(qm.EInvalid, "webhook URL may not name a network interface")
	}
	if allowPrivate {
		return nil
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if err := CheckAddr(ip); err != nil {
			return qm.Errorf(qm.EInvalid, "webhook URL's address %s is %s; webhooks may only go to public addresses", ip, kind(ip))
		}
		return nil
	}
	// A host whose last label is a number is an IPv4 address in one of the
	// old forms (2130706433, 0x7f.1, 127.1) that some resolvers accept and
	// netip does not: refuse it rather than let it mean 127.0.0.1 somewhere.
	labels := strings.Split(strings.TrimSuffix(host, "."), ".")
	if last := strings.ToLower(labels[len(labels)-1]); last != "" &&
		(strings.TrimLeft(last, "0123456789") == "" || strings.HasPrefix(last, "0x")) {
		return qm.Errorf(qm.EInvalid, "webhook URL's host %q looks like an IP address in an unusual form; write it as a name or as a.b.c.d", host)
	}
	return nil
}

// ErrForbiddenAddress is wrapped by the errors of CheckAddr and of the dial
// guard: the address is not a public one.
var ErrForbiddenAddress = errors.New("address is not public")

// CheckAddr returns nil for a public unicast address and an error wrapping
// ErrForbiddenAddress, naming what the address is, for any of:
//
//	0.0.0.0/8          "this network", incl. the unspecified 0.0.0.0
//	10.0.0.0/8         private (RFC 1918)
//	100.64.0.0/10      shared address space, carrier-grade NAT (RFC 6598)
//	127.0.0.0/8        loopback
//	169.254.0.0/16     link-local, incl. the cloud metadata service 169.254.169.254
//	172.16.0.0/12      private (RFC 1918)
//	192.0.0.0/24       IETF protocol assignments (RFC 6890)
//	192.0.2.0/24       documentation (TEST-NET-1)
//	192.88.99.0/24     6to4 relay anycast (deprecated)
//	192.168.0.0/16     private (RFC 1918)
//	198.18.0.0/15      benchmarking (RFC 2544)
//	198.51.100.0/24    documentation (TEST-NET-2)
//	203.0.113.0/24     documentation (TEST-NET-3)
//	224.0.0.0/4        multicast
//	240.0.0.0/4        reserved, incl. the broadcast 255.255.255.255
//	::/128, ::1/128    unspecified, loopback
//	::/96              IPv4-compatible (deprecated; nothing public uses it)
//	::ffff:0:0/96      IPv4-mapped: judged by the IPv4 address inside
//	64:ff9b::/96       NAT64: judged by the IPv4 address inside
//	64:ff9b:1::/48     NAT64 for local use (RFC 8215)
//	100::/64           discard-only (RFC 6666)
//	2001::/32          Teredo, which tunnels to an IPv4 address of its choosing
//	2001:db8::/32      documentation
//	2002::/16          6to4: judged by the IPv4 address inside
//	fc00::/7           unique local (incl. fd00:ec2::254, a metadata service)
//	fe80::/10          link-local
//	fec0::/10          site-local (deprecated)
//	ff00::/8           multicast
//
// The documentation, benchmarking and reserved ranges have no receivers on
// the internet, so refusing them costs nothing, while some networks do route
// them internally.
func CheckAddr(ip netip.Addr) error {
	if k := kind(ip); k != "" {
		return fmt.Errorf("%w: %s is %s", ErrForbiddenAddress, ip, k)
	}
	return nil
}

type addrRange struct {
	prefix netip.Prefix
	kind   string
}

var (
	// forbidden is searched in order: the first match names the address.
	forbidden = []addrRange{
		{netip.MustParsePrefix("0.0.0.0/8"), `in "this network" (0.0.0.0/8)`},
		{netip.MustParsePrefix("10.0.0.0/8"), "private"},
		{netip.MustParsePrefix("100.64.0.0/10"), "carrier-grade NAT space"},
		{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
		{netip.MustParsePrefix("169.254.169.254/32"), "the cloud metadata service"},
		{netip.MustParsePrefix("169.254.0.0/16"), "link-local"},
		{netip.MustParsePrefix("172.16.0.0/12"), "private"},
		{netip.MustParsePrefix("192.0.0.0/24"), "reserved for IETF protocols"},
		{netip.MustParsePrefix("192.0.2.0/24"), "reserved for documentation"},
		{netip.MustParsePrefix("192.88.99.0/24"), "6to4 relay anycast"},
		{netip.MustParsePrefix("192.168.0.0/16"), "private"},
		{netip.MustParsePrefix("198.18.0.0/15"), "reserved for benchmarking"},
		{netip.MustParsePrefix("198.51.100.0/24"), "reserved for documentation"},
		{netip.MustParsePrefix("203.0.113.0/24"), "reserved for documentation"},
		{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
		{netip.MustParsePrefix("240.0.0.0/4"), "reserved"},
		{netip.MustParsePrefix("::/128"), "unspecified"},
		{netip.MustParsePrefix("::1/128"), "loopback"},
		{netip.MustParsePrefix("::/96"), "IPv4-compatible IPv6"},
		{netip.MustParsePrefix("64:ff9b:1::/48"), "NAT64 for local use"},
		{netip.MustParsePrefix("100::/64"), "discard-only"},
		{netip.MustParsePrefix("2001::/32"), "Teredo"},
		{netip.MustParsePrefix("2001:db8::/32"), "reserved for documentation"},
		{netip.MustParsePrefix("fc00::/7"), "unique local (private)"},
		{netip.MustParsePrefix("fe80::/10"), "link-local"},
		{netip.MustParsePrefix("fec0::/10"), "site-local"},
		{netip.MustParsePrefix("ff00::/8"), "multicast"},
	}
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// kind names the forbidden range ip is in, or returns "" for a public
// address.
func kind(ip netip.Addr) string {
	if !ip.IsValid() {
		return "not an address"
	}
	ip = ip.WithZone("")
	if ip.Is4In6() {
		return kindOfEmbedded(ip.Unmap(), "IPv4-mapped")
	}
	if ip.Is6() {
		b := ip.As16()
		switch {
		case nat64.Contains(ip):
			return kindOfEmbedded(netip.AddrFrom4([4]byte(b[12:16])), "NAT64")
		case sixToFour.Contains(ip):
			return kindOfEmbedded(netip.AddrFrom4([4]byte(b[2:6])), "6to4")
		}
	}
	for _, r := range forbidden {
		if r.prefix.Contains(ip) {
			return r.kind
		}
	}
	return ""
}

func kindOfEmbedded(v4 netip.Addr, form string) string {
	if k := kind(v4); k != "" {
		return form + " " + v4.String() + ", " + k
	}
	return ""
}

// guard is the dial guard: a net.Dialer ControlContext that runs after DNS
// resolution, just before each connect, and refuses any address CheckAddr
// refuses. exempt, set only by tests in this package, lets one listener on
// loopback stand in for a public server, so that a redirect from it can be
// followed to where the guard must stop it.
type guard struct {
	exempt netip.AddrPort
}

func (g guard) control(_ context.Context, network, address string, _ syscall.RawConn) error {
	if network != "tcp4" && network != "tcp6" {
		return fmt.Errorf("%w: webhooks connect over TCP, not %s", ErrForbiddenAddress, network)
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot read %q", ErrForbiddenAddress, address)
	}
	if g.exempt.IsValid() && ap == g.exempt {
		return nil
	}
	return CheckAddr(ap.Addr())
}

// resolveTimeout bounds CheckTarget's look-up: a slow resolver must not
// hold a tenant's request.
const resolveTimeout = 3 * time.Second

// CheckTarget is CheckURL, and, unless allowPrivate, the name's addresses
// too, as a tenant saves an endpoint: a name that resolves to an address
// the dial guard refuses (localhost, a name an attacker points at the
// metadata service) is refused now, with a message, rather than failing
// every delivery later. A name that does not resolve yet is accepted: the
// dial guard judges it at every delivery, so a name changed later to
// point inside is refused then.
func CheckTarget(ctx context.Context, raw string, allowPrivate bool) error {
	if err := CheckURL(raw, allowPrivate); err != nil || allowPrivate {
		return err
	}
	u, _ := url.Parse(raw) // CheckURL parsed it
	host := u.Hostname()
	if _, err := netip.ParseAddr(host); err == nil {
		return nil // a literal address, which CheckURL judged
	}
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil
	}
	for _, a := range addrs {
		if err := CheckAddr(a.Unmap()); err != nil {
			return qm.Errorf(qm.EInvalid, "webhook URL's host %s resolves to %s, inside the server's network", host, a.Unmap())
		}
	}
	return nil
}
