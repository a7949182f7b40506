package crmhub

// SyncRunFailure is the error of a sync run that its engine ended as
// FAILED: the run's row holds the cause, so whoever worked it is done with
// it (a job is not retried, the CLI prints the run). Callers tell it from
// errors that left the run unfinished with errors.As.
type SyncRunFailure struct{ Message string }

func (e *SyncRunFailure) Error() string { return "sync run failed: " + e.Message }
