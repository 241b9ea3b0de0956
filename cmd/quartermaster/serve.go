package main

import (
	"context"
	"io"

	"github.com/quartermaster/qm/auth"
	"github.com/quartermaster/qm/httpapi"
)

func cmdServe(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs, c := newFlagSet("serve", stderr)
	addr := fs.String("addr", envOr("QM_ADDR", "127.0.0.1:8080"), "address to listen on (QM_ADDR)")
	osmand := fs.String("osmand-addr", envOr("QM_OSMAND_ADDR", "127.0.0.1:5055"), `address for devices speaking the OsmAnd protocol; "" for none (QM_OSMAND_ADDR)`)
	public := fs.String("public-url", envOr("QM_PUBLIC_URL", ""), "where users reach the server, for links such as label QR codes (QM_PUBLIC_URL; default http://ADDR)")
	if err := parseNone(fs, args); err != nil {
		return err
	}
	log, err := c.logger()
	if err != nil {
		return err
	}
	e, err := c.openReady(ctx)
	if err != nil {
		return err
	}
	defer e.Close()
	// Bring every tenant up to date before serving; a tenant that fails is
	// reported by /readyz and by `quartermaster migrate --status`.
	if err := migrateTenants(ctx, e, 8, stdout); err != nil {
		log.Error("some tenants could not be migrated", "err", err)
	}
	return httpapi.New(httpapi.Config{
		Addr: *addr, OsmAndAddr: *osmand, Ready: e.Ready, Logger: log, PublicURL: publicURL(*public, *addr),
		Auth:    auth.New(auth.Config{Identity: e.Identity(), Tenants: e.Tenants(), Devices: e.Devices()}),
		Tenants: e.Tenants(), Identity: e.Identity(), Devices: e.Devices(), Router: e,
	}).Run(ctx, nil)
}

// publicURL is the configured public URL, or the listen address as one.
func publicURL(configured, addr string) string {
	if configured != "" {
		return configured
	}
	return "http://" + addr
}
