package db

import (
	"context"
	"fmt"

	"github.com/crmhub/crmhub"
	"github.com/google/uuid"
	"github.com/uptrace/bun/dialect/pgdialect"
)

// ReplaceChannels makes channels the connection's only channels, in one
// transaction: those stored that the list lacks are deleted (the CRM
// removed them from the integration), the others are stored as
// SaveChannels does. An empty list deletes every channel.
func (s *ConnectionService) ReplaceChannels(ctx context.Context, ws, conn uuid.UUID, channels []crmhub.ConnectionChannel) error {
	rows, err := channelRows(ws, conn, channels, s.db.Now())
	if err != nil {
		return err
	}
	keep := make([]string, len(rows))
	for i, r := range rows {
		keep[i] = r.ChannelID
	}
	err = s.db.inWorkspace(ctx, ws, "system", false, func(ctx context.Context, t *tx) error {
		_, err := t.NewDelete().Model((*connectionChannelRow)(nil)).
			Where("workspace_id = ? AND connection_id = ? AND NOT (channel_id = ANY(?))", ws, conn, pgdialect.Array(keep)).
			Exec(ctx)
		if err != nil {
			return err
		}
		return upsertChannels(ctx, t, rows)
	})
	if err != nil {
		return fmt.Errorf("db: replace channels: %w", err)
	}
	return nil
}
