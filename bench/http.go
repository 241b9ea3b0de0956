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
	"github.com/quartermaster/qm/sqlstore"
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
	tctx := tenancy.WithTenant(ctx, tn)
	loc := &qm.Location{Name: "Point", Address: "1 Main St"}
	if err := sqlstore.NewLocationStore(e, time.Now).CreateLocation(tctx, loc); err != nil {
		return Result{}, err
	}
	_, secret, err := sqlstore.NewTokenStore(e.Identity(), e, time.Now).CreateToken(tctx, qm.NewAPIToken{Name: "bench", Role: "viewer"})
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
	path := "/api/v1/t/" + tn.Slug + "/locations/" + loc.ID
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

// load serves h on a loopback port and has clients GET path as fast as they
// can for d, returning the latencies and the requests per second.
func load(ctx context.Context, h http.Handler, path, token string, clients int, d time.Duration) (Sample, float64, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, 0, err
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	defer srv.Close()
	url := "http://" + ln.Addr().String() + path
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	var (
		mu      sync.Mutex
		all     Sample
		wg      sync.WaitGroup
		failure error
	)
	deadline := time.Now().Add(d)
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine Sample
			for time.Now().Before(deadline) && ctx.Err() == nil {
				err := mine.Time(func() error { return call(ctx, client, "GET", url, token, nil) })
				if err != nil {
					mu.Lock()
					failure = errors.Join(failure, err)
					mu.Unlock()
					return
				}
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return all, float64(len(all)) / time.Since(start).Seconds(), failure
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
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s", method, url, res.Status)
	}
	return nil
}
