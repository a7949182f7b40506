package db

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/crmhub/crmhub"
	"github.com/google/uuid"
)

// RecordCampaign records that a broadcast campaign of connection's CRM
// finished: a campaign.completed event whose subject is the connection.
// A replayed report (the same campaign id) records nothing. Stats larger
// than crmhub.MaxCampaignStats are left out. EINVALID without a campaign
// id.
func (s *ConnectionService) RecordCampaign(ctx context.Context, connection uuid.UUID, p crmhub.CampaignPayload) error {
	id, err := crmhub.OptionalText(&p.CampaignID, "campaignId", crmhub.MaxIdentifierValueLength)
	if err != nil || id == nil {
		return crmhub.Invalid("campaignId", "the CRM's id of the campaign is required")
	}
	if p.Name, err = crmhub.NormalizeName(p.Name); err != nil {
		return err
	}
	if b, err := json.Marshal(p.Stats); err != nil || len(b) > crmhub.MaxCampaignStats {
		p.Stats = nil
	}
	p.CampaignID, p.ConnectionID = *id, crmhub.GlobalID(crmhub.KindConnection, connection)
	return s.db.write(ctx, crmhub.ScopeConnectorsManage, func(ctx context.Context, t *tx) error {
		seen, err := t.NewSelect().Table("events").
			Where("workspace_id = ? AND subject_id = ? AND type = ? AND payload->>'campaignId' = ?",
				t.ws, p.ConnectionID, string(crmhub.EventCampaignCompleted), p.CampaignID).Exists(ctx)
		if err != nil {
			return fmt.Errorf("db: find an earlier campaign report: %w", err)
		}
		if !seen {
			t.emit(crmhub.EventCampaignCompleted, p.ConnectionID, p)
		}
		return nil
	})
}
