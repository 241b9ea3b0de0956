package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/devicecsv"
	"github.com/quartermaster/qm/sqlstore/catalog"
)

const deviceUsage = `usage:
  quartermaster device register --ident IDENT [--serial S] [--kind vehicle|phone|agent] [--model M] [--firmware F] [--ident-only] [--json]
  quartermaster device register --csv FILE [--json]     columns: ident, serial, kind, model, firmware, notes
  quartermaster device assign IDENT --tenant SLUG        a device another tenant holds moves, with a new credential
  quartermaster device unassign IDENT
  quartermaster device rotate IDENT                      a new credential; the old one stops working
  quartermaster device set IDENT [--ident-only=true|false] [--serial S] [--kind K] [--model M] [--firmware F] [--notes N] [--json]
  quartermaster device list [--tenant SLUG] [--unassigned] [--json]
  quartermaster device show IDENT [--json]               with its custody history
`

func cmdDevice(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, deviceUsage)
		return errUsage
	}
	verb := args[0]
	fs, c := newFlagSet("device "+verb, stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	var d qm.Device
	var u qm.DeviceUpdate
	var csvFile, slug *string
	var unassigned *bool
	switch verb {
	case "register":
		fs.StringVar(&d.Ident, "ident", "", "the device's identifier: IMEI, or the id its tracker app reports")
		fs.StringVar(&d.Serial, "serial", "", "serial number")
		fs.StringVar(&d.Kind, "kind", qm.DeviceVehicle, "vehicle, phone or agent")
		fs.StringVar(&d.Model, "model", "", "model")
		fs.StringVar(&d.Firmware, "firmware", "", "firmware version")
		fs.StringVar(&d.Notes, "notes", "", "notes")
		fs.BoolVar(&d.IdentOnly, "ident-only", false, identOnlyUsage)
		csvFile = fs.String("csv", "", "register every device of a CSV file instead, all or none")
	case "set":
		for name, field := range map[string]**string{"serial": &u.Serial, "kind": &u.Kind, "model": &u.Model, "firmware": &u.Firmware, "notes": &u.Notes} {
			fs.Func(name, "set the "+name, func(v string) error { *field = &v; return nil })
		}
		fs.BoolFunc("ident-only", identOnlyUsage+" (true or false)", func(v string) error {
			b, err := strconv.ParseBool(v)
			u.IdentOnly = &b
			return err
		})
	case "assign", "list":
		slug = fs.String("tenant", "", "the tenant")
		unassigned = fs.Bool("unassigned", false, "list only devices no tenant holds")
	case "unassign", "rotate", "show":
	default:
		fmt.Fprintf(stderr, "quartermaster: unknown device command %q\n%s", verb, deviceUsage)
		return errUsage
	}
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	wantArgs := map[string]int{"register": 0, "list": 0, "assign": 1, "unassign": 1, "rotate": 1, "show": 1, "set": 1}[verb]
	if len(pos) != wantArgs {
		fmt.Fprint(stderr, deviceUsage)
		return errUsage
	}
	e, err := c.openReady(ctx)
	if err != nil {
		return err
	}
	defer e.Close()
	inv := e.Devices()
	out := func(v any, line string, a ...any) error {
		if *asJSON {
			return printJSON(stdout, v)
		}
		_, err := fmt.Fprintf(stdout, line, a...)
		return err
	}
	switch verb {
	case "register":
		if *csvFile == "" {
			token, err := inv.RegisterDevice(ctx, &d)
			if err != nil {
				return err
			}
			return out(map[string]any{"device": d, "token": token},
				"registered device %s (%s)\ntoken: %s\n(shown once: give it to the device now)\n", d.Ident, d.ID, token)
		}
		return registerCSV(ctx, inv, *csvFile, *asJSON, stdout)
	case "assign":
		t, err := e.Tenants().Tenant(ctx, *slug)
		if err != nil {
			return fmt.Errorf("tenant %q: %w", *slug, err)
		}
		dev, token, err := inv.AssignDevice(ctx, pos[0], t)
		if err != nil {
			return err
		}
		if token == "" {
			return out(dev, "assigned device %s to %s\n", dev.Ident, t.Slug)
		}
		return out(map[string]any{"device": dev, "token": token},
			"moved device %s to %s; its credential changed\ntoken: %s\n(shown once: give it to the device now)\n", dev.Ident, t.Slug, token)
	case "set":
		dev, err := inv.UpdateDevice(ctx, pos[0], u)
		if err != nil {
			return err
		}
		return out(dev, "device %s updated; ident-only: %s\n", dev.Ident, yesNo(dev.IdentOnly))
	case "unassign":
		dev, err := inv.UnassignDevice(ctx, pos[0])
		if err != nil {
			return err
		}
		return out(dev, "device %s is no longer assigned\n", dev.Ident)
	case "rotate":
		token, err := inv.RotateToken(ctx, pos[0])
		if err != nil {
			return err
		}
		return out(map[string]string{"token": token}, "token: %s\n(shown once: the old one no longer works)\n", token)
	case "show":
		dev, err := inv.Device(ctx, pos[0])
		if err != nil {
			return err
		}
		cs, err := inv.Custody(ctx, dev.ID)
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(stdout, map[string]any{"device": dev, "custody": cs})
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "ident:\t%s\nid:\t%s\nkind:\t%s\nserial:\t%s\nmodel:\t%s\nfirmware:\t%s\nident-only:\t%s\ntenant:\t%s\n",
			dev.Ident, dev.ID, dev.Kind, dev.Serial, dev.Model, dev.Firmware, yesNo(dev.IdentOnly), tenantSlug(ctx, e, dev.TenantID))
		for _, c := range cs {
			until := "now"
			if c.Until != nil {
				until = c.Until.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "held by:\t%s from %s until %s\n", tenantSlug(ctx, e, c.TenantID), c.From.Format(time.RFC3339), until)
		}
		return tw.Flush()
	}
	f := qm.DeviceFilter{Unassigned: *unassigned, Limit: 1000}
	if *slug != "" {
		t, err := e.Tenants().Tenant(ctx, *slug)
		if err != nil {
			return fmt.Errorf("tenant %q: %w", *slug, err)
		}
		f.TenantID = t.ID
	}
	var all []*qm.Device
	for {
		ds, err := inv.Devices(ctx, f)
		if err != nil {
			return err
		}
		all = append(all, ds...)
		if len(ds) < f.Limit {
			break
		}
		f.After = ds[len(ds)-1].Ident
	}
	if *asJSON {
		return printJSON(stdout, append([]*qm.Device{}, all...))
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "IDENT\tKIND\tSERIAL\tMODEL\tIDENT-ONLY\tTENANT")
	for _, d := range all {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", d.Ident, d.Kind, d.Serial, d.Model, yesNo(d.IdentOnly), tenantSlug(ctx, e, d.TenantID))
	}
	return tw.Flush()
}

// registerCSV registers every device of a file and prints each one's
// credential.
func registerCSV(ctx context.Context, inv *catalog.DeviceStore, name string, asJSON bool, stdout io.Writer) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	list, err := devicecsv.Read(f)
	var tokens []string
	if err == nil {
		tokens, err = inv.RegisterDevices(ctx, list.Devices)
		err = list.ByLine(err)
	}
	var e *qm.Error
	if errors.As(err, &e) {
		// The message names each bad line and why; its fields say it again.
		return fmt.Errorf("%s: %w", name, qm.Errorf(e.Code, "%s", e.Message))
	} else if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	ds := list.Devices
	if asJSON {
		out := make([]map[string]any, len(ds))
		for i, d := range ds {
			out[i] = map[string]any{"device": d, "token": tokens[i]}
		}
		return printJSON(stdout, out)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "IDENT\tTOKEN (shown once)")
	for i, d := range ds {
		fmt.Fprintf(tw, "%s\t%s\n", d.Ident, tokens[i])
	}
	return tw.Flush()
}

// identOnlyUsage explains --ident-only.
const identOnlyUsage = "let the device report over OsmAnd by its ident alone, without its key: only for trackers that cannot send one, since anyone who learns the ident can then report as the device"

// yesNo writes a flag for a person.
func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// tenantSlug names a tenant by its slug, "-" for none.
func tenantSlug(ctx context.Context, e engine, id string) string {
	if id == "" {
		return "-"
	}
	if t, err := e.Tenants().TenantByID(ctx, id); err == nil {
		return t.Slug
	}
	return id
}
