package httpapi

import (
	"context"
	"sync"
)

// background runs a server's jobs beyond their requests (imports,
// exports): each keeps its request's scope (tenant, principal, origin)
// but not its end, and ends when the server stops.
type background struct {
	stopping context.Context
	stop     context.CancelFunc
	wg       sync.WaitGroup
}

func newBackground() *background {
	b := &background{}
	b.stopping, b.stop = context.WithCancel(context.Background())
	return b
}

// Go runs fn on a goroutine of its own, with ctx's values.
func (b *background) Go(ctx context.Context, fn func(ctx context.Context)) {
	jobCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(b.stopping, cancel)
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		defer stop()
		defer cancel()
		fn(jobCtx)
	}()
}

// shutdown cancels every job and waits until each has ended.
func (b *background) shutdown() {
	b.stop()
	b.wg.Wait()
}
