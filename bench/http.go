package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/auth"
	"github.com/quartermaster/qm/password"
	"github.com/quartermaster/qm/sqlstore/dataplane"
	"github.com/quartermaster/qm/tenancy"
)

// apiRead measures an API-token GET of one location through the whole
// server, with concurrency clients for d, against a bare net/http handler
// that answers the same JSON, measured the same way in the same run.
func apiRead(ctx context.Context, e engine, name string, concurrency int, d time.Duration) (Result, error) {
	tn, err := e.Tenants().CreateTenant(ctx, qm.NewTenant{Slug: "http-read", Name: "HTTP", Tier: qm.TierPool})
	if err != nil {
		return Result{}, err
	}
	loc, path, secret, err := readable(ctx, e, tn)
	if err != nil {
		return Result{}, err
	}
	api, stop := apiServer(e)
	defer stop()
	body, _ := json.Marshal(loc)
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})
	apiSample, apiRate, err := load(ctx, api.Handler(), path, secret, concurrency, d)
	if err != nil {
		return Result{}, fmt.Errorf("api: %w", err)
	}
	bareSample, bareRate, err := load(ctx, bare, path, secret, concurrency, d)
	if err != nil {
		return Result{}, fmt.Errorf("bare handler: %w", err)
	}
	r := apiSample.Compared(fmt.Sprintf("api GET location, token, %d conns, %s pool", concurrency, name), "≥ 0.5x req/s", "bare net/http", bareSample)
	r.Rate, r.BaselineRate = apiRate, bareRate
	r.Ratio = apiRate / bareRate
	return r, nil
}

// readable gives tenant tn a location and a viewer's API token to read it
// with, and returns the location, its path in the API and the token.
func readable(ctx context.Context, e engine, tn *qm.Tenant) (loc *qm.Location, path, token string, err error) {
	tctx := tenancy.WithTenant(ctx, tn)
	loc = &qm.Location{Name: "Point", Address: "1 Main St"}
	if err := dataplane.NewLocationStore(e, time.Now).CreateLocation(tctx, loc); err != nil {
		return nil, "", "", err
	}
	_, token, err = dataplane.NewTokenStore(e.Identity(), e, time.Now).CreateToken(tctx, qm.NewAPIToken{Name: "bench", Role: "viewer"})
	if err != nil {
		return nil, "", "", err
	}
	return loc, "/api/v1/t/" + tn.Slug + "/locations/" + loc.ID, token, nil
}

// load serves h on a loopback port and has clients GET path as fast as they
// can for d, returning the latencies and the requests per second.
func load(ctx context.Context, h http.Handler, path, token string, clients int, d time.Duration) (Sample, float64, error) {
	base, stop, err := serveLoopback(h)
	if err != nil {
		return nil, 0, err
	}
	defer stop()
	client, closeClient := newClient(clients, 10*time.Second)
	defer closeClient()
	all, elapsed, err := drive(ctx, clients, d, 0, func(int, int) error { return call(ctx, client, "GET", base+path, token, nil) })
	return all, float64(len(all)) / elapsed.Seconds(), err
}

// serveLoopback serves h on a loopback port, at base (http://127.0.0.1:port),
// until stop.
func serveLoopback(h http.Handler) (base string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), func() { srv.Close() }, nil
}

// newClient returns a client of its own connections, at most conns of them.
func newClient(conns int, timeout time.Duration) (*http.Client, func()) {
	tr := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}
	return &http.Client{Transport: tr, Timeout: timeout}, tr.CloseIdleConnections
}

// drive runs workers goroutines for d, each calling do with its number and
// how many calls it made before: back to back, or, when every is set, each
// worker once every every (the workers staggered across it, and a late
// call not waiting for the next). It returns the latency of each call and
// how long the run took. The first error stops its worker, and is returned.
func drive(ctx context.Context, workers int, d, every time.Duration, do func(worker, call int) error) (Sample, time.Duration, error) {
	var (
		mu     sync.Mutex
		all    Sample
		wg     sync.WaitGroup
		failed error
	)
	start := time.Now()
	deadline := start.Add(d)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine Sample
			next := start.Add(every * time.Duration(w) / time.Duration(workers))
			for k := 0; ctx.Err() == nil; k++ {
				if every > 0 {
					time.Sleep(time.Until(next))
					next = next.Add(every)
				}
				if !time.Now().Before(deadline) {
					break
				}
				if err := mine.Time(func() error { return do(w, k) }); err != nil {
					mu.Lock()
					failed = errors.Join(failed, err)
					mu.Unlock()
					break
				}
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return all, time.Since(start), failed
}

// login measures signing in with the default argon2id parameters.
func login(ctx context.Context, e engine, name string, n int) (Result, error) {
	hash, err := password.Hash("bench password 123")
	if err != nil {
		return Result{}, err
	}
	u := &qm.User{Email: "bench@example.com", Name: "Bench"}
	if err := e.Identity().CreateUser(ctx, u, hash, time.Now()); err != nil {
		return Result{}, err
	}
	a := auth.New(auth.Config{Identity: e.Identity(), Tenants: e.Tenants(), Devices: e.Devices()})
	var s Sample
	for i := range n {
		err := s.Time(func() error {
			_, _, err := a.Login(ctx, u.Email, "bench password 123", fmt.Sprintf("192.0.2.%d", i%200))
			return err
		})
		if err != nil {
			return Result{}, err
		}
	}
	p := password.Default
	return s.Result(fmt.Sprintf("login, argon2id t=%d m=%dMiB p=%d, %s", p.Time, p.MemoryKiB/1024, p.Threads, name), "about 50ms"), nil
}

// call sends a request with a bearer token and reads the answer, which must
// be 200.
func call(ctx context.Context, client *http.Client, method, url, token string, body []byte) error {
	status, err := send(ctx, client, method, url, token, body)
	if err == nil && status != http.StatusOK {
		err = fmt.Errorf("%s %s: %d %s", method, url, status, http.StatusText(status))
	}
	return err
}

// send sends a request with a bearer token, reads the answer and returns
// its status.
func send(ctx context.Context, client *http.Client, method, url, token string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode, nil
}
