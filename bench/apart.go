package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"time"
)

// neighbourEnv, in a child process's environment, makes it a neighbour of
// the noisy-neighbour figure (see RunNeighbour): its load is generated
// apart from the server it loads, as a real neighbour's would be.
const neighbourEnv = "QM_BENCH_NEIGHBOUR"

// neighbourOrder is what the child sends, and for how long.
type neighbourOrder struct {
	Neighbour *neighbour
	PerSecond float64
	D         time.Duration
	Base      time.Time
}

// neighbourReport is what the child met.
type neighbourReport struct {
	Reads, Batches            Sample
	ReadsOK, ReadsLimited     int64
	BatchesOK, BatchesLimited int64
	D                         time.Duration
}

// runApart runs n's load from a child process of this program, so that
// its cost lands on the machine but not on the server's process.
func (n *neighbour) runApart(ctx context.Context, perSecond float64, d time.Duration, base time.Time) (*traffic, error) {
	order, err := json.Marshal(neighbourOrder{n, perSecond, d, base})
	if err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, self)
	cmd.Env = append(os.Environ(), neighbourEnv+"="+string(order))
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("the neighbour's process: %w: %s", err, errOut.String())
	}
	var r neighbourReport
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		return nil, fmt.Errorf("the neighbour's report: %w", err)
	}
	t := &traffic{reads: r.Reads, batches: r.Batches, d: r.D}
	t.readAnswers.ok.Store(r.ReadsOK)
	t.readAnswers.limited.Store(r.ReadsLimited)
	t.batchAnswers.ok.Store(r.BatchesOK)
	t.batchAnswers.limited.Store(r.BatchesLimited)
	return t, nil
}

// RunNeighbour is the child process of the noisy-neighbour figure: when its
// environment orders a load (neighbourEnv), it sends it, prints what it
// met as JSON and reports true; otherwise it does nothing and reports
// false. main, and a test binary's TestMain, call it first.
func RunNeighbour() bool {
	raw := os.Getenv(neighbourEnv)
	if raw == "" {
		return false
	}
	var o neighbourOrder
	if err := json.Unmarshal([]byte(raw), &o); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	client, closeClient := newClient(2*len(o.Neighbour.Devices), 10*time.Second)
	defer closeClient()
	t, err := o.Neighbour.run(context.Background(), client, o.PerSecond, o.D, o.Base)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	json.NewEncoder(os.Stdout).Encode(neighbourReport{Reads: t.reads, Batches: t.batches, ReadsOK: t.readAnswers.ok.Load(),
		ReadsLimited: t.readAnswers.limited.Load(), BatchesOK: t.batchAnswers.ok.Load(), BatchesLimited: t.batchAnswers.limited.Load(), D: t.d})
	return true
}
