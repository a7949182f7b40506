package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/crmhub/crmhub/db"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// jobCountTimeout bounds the query behind crmhub_river_jobs at a scrape.
const jobCountTimeout = 2 * time.Second

// serviceMetrics are the Prometheus series of the parts apart from the
// HTTP handler (which registers its own): the pool, the event hub, webhook
// deliveries, sync runs and the job queue. All are read at scrape time
// from counts those parts keep, so db needs no Prometheus.
func serviceMetrics(d *db.DB, hub *db.Hub, webhooks *db.WebhookService, syncs *db.SyncService, log *slog.Logger) []prometheus.Collector {
	pool := func(name, help string, read func(*pgxpool.Stat) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help},
			func() float64 { return read(d.Pool.Stat()) })
	}
	poolCounter := func(name, help string, read func(*pgxpool.Stat) float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return read(d.Pool.Stat()) })
	}
	return []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "crmhub_db_round_trips_total",
			Help: "Round trips to PostgreSQL (a query, an exec, a batch, a COPY) since start."},
			func() float64 { return float64(d.QueryStats().RoundTrips) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "crmhub_db_statements_total",
			Help: "SQL statements sent to PostgreSQL (each statement of a batch counts) since start."},
			func() float64 { return float64(d.QueryStats().Statements) }),
		pool("crmhub_db_pool_connections", "Open connections of the pool (idle, acquired or being opened).",
			func(s *pgxpool.Stat) float64 { return float64(s.TotalConns()) }),
		pool("crmhub_db_pool_idle_connections", "Idle connections of the pool.",
			func(s *pgxpool.Stat) float64 { return float64(s.IdleConns()) }),
		pool("crmhub_db_pool_acquired_connections", "Connections of the pool in use.",
			func(s *pgxpool.Stat) float64 { return float64(s.AcquiredConns()) }),
		poolCounter("crmhub_db_pool_acquires_total", "Connections taken from the pool since start.",
			func(s *pgxpool.Stat) float64 { return float64(s.AcquireCount()) }),
		poolCounter("crmhub_db_pool_empty_acquires_total", "Acquires that had to wait for a connection since start.",
			func(s *pgxpool.Stat) float64 { return float64(s.EmptyAcquireCount()) }),
		poolCounter("crmhub_db_pool_acquire_wait_seconds_total", "Time spent waiting for a connection of the pool since start.",
			func(s *pgxpool.Stat) float64 { return s.EmptyAcquireWaitTime().Seconds() }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "crmhub_subscriptions",
			Help: "Live GraphQL subscriptions of this process."},
			func() float64 { return float64(hub.Subscribers()) }),
		byLabel(prometheus.NewDesc("crmhub_webhook_deliveries_total",
			"Webhook delivery attempts since start by outcome: delivered, retrying, failed (for good), disabled (the endpoint answered 410 or was disabled).",
			[]string{"outcome"}, nil), prometheus.CounterValue, func() map[string]float64 { return floats(webhooks.DeliveryCounts()) }),
		byLabel(prometheus.NewDesc("crmhub_sync_runs_total", "Sync runs ended since start by final status: succeeded, failed, cancelled.",
			[]string{"status"}, nil), prometheus.CounterValue, func() map[string]float64 { return floats(syncs.FinishedRuns()) }),
		byLabel(prometheus.NewDesc("crmhub_river_jobs",
			"River jobs waiting or running by state: available, scheduled, retryable, running (counted at each scrape).",
			[]string{"state"}, nil), prometheus.GaugeValue, func() map[string]float64 {
			ctx, cancel := context.WithTimeout(context.Background(), jobCountTimeout)
			defer cancel()
			counts, err := d.JobCounts(ctx)
			if err != nil {
				log.Warn("metrics: jobs not counted", "err", err)
			}
			return floats(counts)
		}),
	}
}

// labelled is one metric with one label, whose values read returns at
// each scrape (a value per label value).
type labelled struct {
	desc *prometheus.Desc
	typ  prometheus.ValueType
	read func() map[string]float64
}

func byLabel(desc *prometheus.Desc, typ prometheus.ValueType, read func() map[string]float64) prometheus.Collector {
	return labelled{desc: desc, typ: typ, read: read}
}

func (l labelled) Describe(ch chan<- *prometheus.Desc) { ch <- l.desc }

func (l labelled) Collect(ch chan<- prometheus.Metric) {
	for value, n := range l.read() {
		ch <- prometheus.MustNewConstMetric(l.desc, l.typ, n, value)
	}
}

func floats[N uint64 | int64](m map[string]N) map[string]float64 {
	out := make(map[string]float64, len(m))
	for k, v := range m {
		out[k] = float64(v)
	}
	return out
}
