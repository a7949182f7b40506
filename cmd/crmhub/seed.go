package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/db"
	"github.com/google/uuid"
)

// seed loads a deterministic benchmark dataset into an empty workspace.
func (c *cli) seed(ctx context.Context, args []string) error {
	def := db.DefaultSeedConfig
	fs := c.newFlagSet("seed", "seed (--workspace ID | --new-workspace NAME) [--contacts N] [--deals N]\n"+
		"       [--conversations N] [--messages-per-conversation N] [--users N] [--seed N] [--json]\n\n"+
		"Loads a deterministic benchmark dataset with COPY: users, contacts (a phone, an email and\n"+
		"sometimes a Telegram username each, tags, custom fields), deals linked to contacts, and\n"+
		"conversations of alternating inbound and outbound messages. The same --seed makes the same\n"+
		"content (names, identities, tags, amounts, timestamps, texts); ids are derived from the\n"+
		"seed and the workspace. The workspace must hold no contacts, users, deals or conversations.\n"+
		"It is a bulk load: no events are written, so subscriptions, webhooks and connection pushes\n"+
		"do not see seeded rows. Batches commit as they go; a failed seed leaves what committed.\n"+
		"--new-workspace applies pending migrations first unless --no-migrate.")
	cfg, err := c.config()
	if err != nil {
		return err
	}
	workspace := fs.String("workspace", "", "global `id` of an existing, empty workspace (ws_...)")
	newName := fs.String("new-workspace", "", "create a workspace with this `name` and print its admin key")
	sc := def
	fs.IntVar(&sc.Contacts, "contacts", def.Contacts, "contacts to make")
	fs.IntVar(&sc.Deals, "deals", def.Deals, "deals to make, each linked to 1-2 contacts")
	fs.IntVar(&sc.Conversations, "conversations", def.Conversations, "conversations to make")
	fs.IntVar(&sc.MessagesPerConversation, "messages-per-conversation", def.MessagesPerConversation, "messages in each conversation")
	fs.IntVar(&sc.Users, "users", def.Users, "users to make (responsible users and assignees)")
	fs.Uint64Var(&sc.Seed, "seed", def.Seed, "seed of the generated content")
	fs.IntVar(&sc.Parallel, "parallel", 2, "connections loading at once")
	asJSON := fs.Bool("json", false, "print a summary object")
	fs.BoolVar(&cfg.NoMigrate, "no-migrate", cfg.NoMigrate, "with --new-workspace: do not apply pending migrations first")
	if err := c.parseNoArgs(fs, args); err != nil {
		return err
	}
	// --contacts alone scales the rest of the dataset with it; what is
	// given explicitly stays.
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["contacts"] && sc.Contacts > 0 {
		scaled := sc.Scaled(sc.Contacts)
		if !set["deals"] {
			sc.Deals = scaled.Deals
		}
		if !set["conversations"] {
			sc.Conversations = scaled.Conversations
		}
		if !set["users"] {
			sc.Users = scaled.Users
		}
	}
	if (*workspace == "") == (strings.TrimSpace(*newName) == "") {
		return &usageError{msg: "give either --workspace or --new-workspace", fs: fs}
	}
	if err := sc.Validate(); err != nil {
		var e *crmhub.Error
		if errors.As(err, &e) && e.Code == crmhub.EINVALID {
			return &usageError{msg: e.Message, fs: fs}
		}
		return err
	}
	var ws uuid.UUID
	if *workspace != "" {
		if ws, err = crmhub.ParseID(crmhub.KindWorkspace, *workspace); err != nil {
			return err
		}
	} else if !cfg.NoMigrate {
		if _, err := prepareDatabase(ctx, cfg.sessionURL()); err != nil {
			return err
		}
	}
	d, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer d.Close()
	var secret string
	if *newName != "" {
		w, _, s, err := db.NewAuthService(d).CreateWorkspace(ctx, *newName)
		if err != nil {
			return fmt.Errorf("create workspace: %w", err)
		}
		ws, secret = w.ID, s
	}
	stats, err := db.Seed(ctx, d, ws, sc)
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	wsID := crmhub.GlobalID(crmhub.KindWorkspace, ws)
	if *asJSON {
		out := seedJSON{WorkspaceID: wsID, Seed: sc.Seed, Users: stats.Users, Contacts: stats.Contacts,
			Identities: stats.Identities, Tags: stats.Tags, Deals: stats.Deals, DealContacts: stats.DealContacts,
			Conversations: stats.Conversations, Messages: stats.Messages, Seconds: stats.Duration.Seconds()}
		if secret != "" {
			out.APIKey = &secret
		}
		return printJSON(c.stdout, out)
	}
	if secret != "" {
		fmt.Fprintf(c.stdout, "Workspace %q created: %s\n", strings.TrimSpace(*newName), wsID)
		fmt.Fprintf(c.stdout, "Admin API key (shown only now): %s\n", secret)
	}
	fmt.Fprintf(c.stdout, "Seeded %s (seed %d) in %.1fs: %d users, %d contacts (%d identities, %d tags), "+
		"%d deals (%d contact links), %d conversations, %d messages\n", wsID, sc.Seed, stats.Duration.Seconds(),
		stats.Users, stats.Contacts, stats.Identities, stats.Tags, stats.Deals, stats.DealContacts,
		stats.Conversations, stats.Messages)
	return nil
}

// seedJSON is what `seed --json` prints.
type seedJSON struct {
	WorkspaceID   string  `json:"workspaceId"`
	APIKey        *string `json:"apiKey,omitempty"`
	Seed          uint64  `json:"seed"`
	Users         int     `json:"users"`
	Contacts      int     `json:"contacts"`
	Identities    int     `json:"identities"`
	Tags          int     `json:"tags"`
	Deals         int     `json:"deals"`
	DealContacts  int     `json:"dealContacts"`
	Conversations int     `json:"conversations"`
	Messages      int     `json:"messages"`
	Seconds       float64 `json:"seconds"`
}
