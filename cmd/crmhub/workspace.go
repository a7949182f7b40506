package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/crmhub/crmhub/db"
)

func (c *cli) workspace(ctx context.Context, args []string) error {
	_, args, err := subcommand("workspace", args, "create")
	if err != nil {
		return err
	}
	cfg, err := c.config()
	if err != nil {
		return err
	}
	fs := c.newFlagSet("workspace create", "workspace create --name NAME [--json]\n\n"+
		"Creates a workspace and its first API key, which has the admin scope.\n"+
		"The key is printed once; only its hash is stored. Applies pending\n"+
		"migrations first unless --no-migrate.")
	name := fs.String("name", "", "workspace `name` (required)")
	asJSON := fs.Bool("json", false, `print {"workspaceId": "...", "apiKey": "..."}`)
	fs.BoolVar(&cfg.NoMigrate, "no-migrate", cfg.NoMigrate, "do not apply pending migrations first")
	if err := c.parseNoArgs(fs, args); err != nil {
		return err
	}
	if strings.TrimSpace(*name) == "" {
		return &usageError{msg: "--name is required", fs: fs}
	}

	if !cfg.NoMigrate {
		if _, err := prepareDatabase(ctx, cfg.sessionURL()); err != nil {
			return err
		}
	}
	d, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer d.Close()
	ws, _, secret, err := db.NewAuthService(d).CreateWorkspace(ctx, *name)
	if err != nil {
		return fmt.Errorf("create workspace: %w", err)
	}
	if *asJSON {
		return printObject(c.stdout, "workspaceId", ws.GlobalID(), "apiKey", secret)
	}
	fmt.Fprintf(c.stdout, "Workspace %q created: %s\n", ws.Name, ws.GlobalID())
	fmt.Fprintf(c.stdout, "Admin API key (shown only now): %s\n", secret)
	return nil
}
