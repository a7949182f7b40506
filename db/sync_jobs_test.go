package db

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/crmhub/crmhub"
	"github.com/google/uuid"
	"github.com/riverqueue/river"
)

type runnerFunc func(ctx context.Context, ws, runID uuid.UUID) error

func (f runnerFunc) Run(ctx context.Context, ws, runID uuid.UUID) error { return f(ctx, ws, runID) }

// The River job of a run ends when the engine ended the run (FAILED
// included), and is worked again when the run was cut short or its end
// could not be recorded.
func TestSyncWorkerEndsFailedRuns(t *testing.T) {
	job := &river.Job[syncJobArgs]{Args: syncJobArgs{WorkspaceID: uuid.New(), RunID: uuid.New()}}
	down := errors.New("database unreachable")
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		err  error // what the runner returns
		want error // what the job returns; nil ends it
	}{
		{"succeeded", context.Background(), nil, nil},
		{"failed", context.Background(), &crmhub.SyncRunFailure{Message: "remote down"}, nil},
		{"failed, wrapped", context.Background(), fmt.Errorf("run: %w", &crmhub.SyncRunFailure{Message: "x"}), nil},
		{"could not record", context.Background(), down, down},
		{"cut short", canceled, context.Canceled, context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &syncWorker{runner: runnerFunc(func(context.Context, uuid.UUID, uuid.UUID) error { return tc.err })}
			if err := w.Work(tc.ctx, job); !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("Work = %v, want %v", err, tc.want)
			}
		})
	}
	// Without a runner this process only queues: the job waits.
	var snooze *river.JobSnoozeError
	if err := (&syncWorker{}).Work(context.Background(), job); !errors.As(err, &snooze) {
		t.Fatalf("Work without a runner = %v, want a snooze", err)
	}
}
