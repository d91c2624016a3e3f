package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	deimos "github.com/marsevilspirit/deimos-client"
	"github.com/marsevilspirit/deimos-client/kv"
)

// oneShot runs fn with a connected client, all within --timeout.
func (a *app) oneShot(ctx context.Context, fn func(context.Context, *deimos.Client) error) error {
	ctx, cancel := a.commandContext(ctx)
	defer cancel()
	c, err := a.connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	return fn(ctx, c)
}

func (a *app) getCommand() *cobra.Command {
	var recursive, sorted bool
	cmd := &cobra.Command{
		Use:   "get <key>",
		Short: "Read a key, or a directory and its children",
		Long: `Read a key. For a directory, its children are listed too: one level, or
the whole subtree with --recursive, in the server's (random) order unless
--sorted.

Table: KEY VALUE TTL CREATED MODIFIED, one row per node (directories end in
"/", values are quoted when empty or when they hold blanks at their ends or
control characters; TTL is "-" for permanent keys).
JSON: one result object; "index" is the index the read was applied at, from
which "watch --after-index" continues without a gap.`,
		Args: cobra.ExactArgs(1),
	}
	cmd.Flags().BoolVar(&recursive, "recursive", false, "list the whole subtree of a directory")
	cmd.Flags().BoolVar(&sorted, "sorted", false, "sort directory children by key")
	cmd.RunE = a.runE(func(cmd *cobra.Command, args []string) error {
		var opts []deimos.GetOption
		if recursive {
			opts = append(opts, deimos.WithRecursive())
		}
		if sorted {
			opts = append(opts, deimos.WithSorted())
		}
		return a.oneShot(cmd.Context(), func(ctx context.Context, c *deimos.Client) error {
			resp, err := c.Get(ctx, args[0], opts...)
			if err != nil {
				return err
			}
			return a.printer().read(resp)
		})
	})
	return cmd
}

func (a *app) setCommand() *cobra.Command {
	var ttl flagDuration
	var prevValue string
	var prevIndex uint64
	var create, update bool
	cmd := &cobra.Command{
		Use:   "set <key> <value>",
		Short: "Write a key",
		Long: `Write value at key, creating or replacing it, and any missing parent
directories. Conditions make it safe to retry:
  --create          only if the key does not exist (exit 4 if it does)
  --update          only if the key exists (exit 3 if it does not)
  --prev-value V    only if the current value is V (compare-and-swap, exit 4)
  --prev-index N    only if the key was last modified at index N (exit 4)
A replaced key keeps no TTL unless --ttl is given again. Put -- before a
value that starts with "-": deimosctl set /n -- -1.

Table: ACTION KEY VALUE PREVIOUS TTL INDEX.
JSON: one result object; "index" is the index of this write.`,
		Args: cobra.ExactArgs(2),
	}
	f := cmd.Flags()
	f.Var(&ttl, "ttl", "expire the key after this long (e.g. 30s, 5m; at least 1s)")
	f.StringVar(&prevValue, "prev-value", "", "write only if the current value is this")
	f.Uint64Var(&prevIndex, "prev-index", 0, "write only if the key's modified index is this")
	f.BoolVar(&create, "create", false, "write only if the key does not exist")
	f.BoolVar(&update, "update", false, "write only if the key exists")
	cmd.MarkFlagsMutuallyExclusive("create", "update")
	cmd.RunE = a.runE(func(cmd *cobra.Command, args []string) error {
		var opts []deimos.SetOption
		if ttl.set {
			opts = append(opts, deimos.WithTTL(ttl.d))
		}
		if f.Changed("prev-value") {
			opts = append(opts, deimos.WithPrevValue(prevValue))
		}
		if f.Changed("prev-index") {
			opts = append(opts, deimos.WithPrevIndex(prevIndex))
		}
		if create || update {
			opts = append(opts, deimos.WithPrevExist(update))
		}
		return a.oneShot(cmd.Context(), func(ctx context.Context, c *deimos.Client) error {
			resp, err := c.Set(ctx, args[0], args[1], opts...)
			if err != nil {
				return err
			}
			return a.printer().write(resp)
		})
	})
	return cmd
}

func (a *app) rmCommand() *cobra.Command {
	var dir, recursive bool
	var prevValue string
	var prevIndex uint64
	cmd := &cobra.Command{
		Use:   "rm <key>",
		Short: "Delete a key or a directory",
		Long: `Delete a key. A directory needs --dir (empty directories only) or
--recursive (with everything in it). --prev-value and --prev-index make it a
compare-and-delete (exit 4 on a mismatch).

WARNING: a real Deimos node crashes when a directory is deleted (or expires)
while a watch exists on a key strictly inside it, even a watch whose client
has gone away in the last 5 minutes. deimosctl cannot know about other
clients' watches: before rm --recursive, make sure nobody watches single keys
below the directory (watching the directory itself, recursively, is safe).

Table: ACTION KEY VALUE PREVIOUS TTL INDEX.
JSON: one result object; "index" is the index of the delete, "prevNode" the
deleted node.`,
		Args: cobra.ExactArgs(1),
	}
	f := cmd.Flags()
	f.BoolVar(&dir, "dir", false, "also delete an empty directory")
	f.BoolVar(&recursive, "recursive", false, "delete a directory and everything in it (see the warning)")
	f.StringVar(&prevValue, "prev-value", "", "delete only if the current value is this")
	f.Uint64Var(&prevIndex, "prev-index", 0, "delete only if the key's modified index is this")
	cmd.RunE = a.runE(func(cmd *cobra.Command, args []string) error {
		var opts []deimos.DeleteOption
		if dir {
			opts = append(opts, deimos.WithDir())
		}
		if recursive {
			opts = append(opts, deimos.WithRecursive())
		}
		if f.Changed("prev-value") {
			opts = append(opts, deimos.WithPrevValue(prevValue))
		}
		if f.Changed("prev-index") {
			opts = append(opts, deimos.WithPrevIndex(prevIndex))
		}
		return a.oneShot(cmd.Context(), func(ctx context.Context, c *deimos.Client) error {
			resp, err := c.Delete(ctx, args[0], opts...)
			if errors.Is(err, deimos.ErrNotFile) && !dir && !recursive {
				return fmt.Errorf("%w (a directory: add --dir if it is empty, --recursive to delete everything in it)", err)
			}
			if err != nil {
				return err
			}
			return a.printer().write(resp)
		})
	})
	return cmd
}

func (a *app) mkdirCommand() *cobra.Command {
	var ttl flagDuration
	cmd := &cobra.Command{
		Use:   "mkdir <key>",
		Short: "Create an empty directory",
		Long: `Create an empty directory (and missing parents). It fails with exit 4 when
the key exists, file or directory. A directory with --ttl disappears with
everything in it when it expires (see the warning of rm).

Table: ACTION KEY VALUE PREVIOUS TTL INDEX.
JSON: one result object.`,
		Args: cobra.ExactArgs(1),
	}
	cmd.Flags().Var(&ttl, "ttl", "expire the directory after this long")
	cmd.RunE = a.runE(func(cmd *cobra.Command, args []string) error {
		var opts []kv.MkdirOption
		if ttl.set {
			opts = append(opts, deimos.WithTTL(ttl.d))
		}
		return a.oneShot(cmd.Context(), func(ctx context.Context, c *deimos.Client) error {
			resp, err := c.KV().Mkdir(ctx, args[0], opts...)
			if err != nil {
				return err
			}
			return a.printer().write(resp)
		})
	})
	return cmd
}

func (a *app) lsCommand() *cobra.Command {
	var recursive, sorted bool
	cmd := &cobra.Command{
		Use:   "ls [key]",
		Short: "Show a directory as a tree",
		Long: `Show the directory at key (default "/") as a tree: one level, or the whole
subtree with --recursive, in the server's (random) order unless --sorted.
Files show "name = value" (quoted like in tables) and their TTL; directories
end in "/". Hidden keys (names starting with "_") are never listed.

JSON: one result object, the directory node with its "nodes".`,
		Args: cobra.RangeArgs(0, 1),
	}
	cmd.Flags().BoolVar(&recursive, "recursive", false, "show the whole subtree")
	cmd.Flags().BoolVar(&sorted, "sorted", false, "sort children by key")
	cmd.RunE = a.runE(func(cmd *cobra.Command, args []string) error {
		key := "/"
		if len(args) == 1 {
			key = args[0]
		}
		var opts []deimos.GetOption
		if recursive {
			opts = append(opts, deimos.WithRecursive())
		}
		if sorted {
			opts = append(opts, deimos.WithSorted())
		}
		return a.oneShot(cmd.Context(), func(ctx context.Context, c *deimos.Client) error {
			resp, err := c.Get(ctx, key, opts...)
			if err != nil {
				return err
			}
			p := a.printer()
			if p.json {
				return p.object(resultOf(resp.Action, resp.Index, resp.Node, nil))
			}
			return p.tree(resp.Node)
		})
	})
	return cmd
}

// read prints the answer of get.
func (p *printer) read(resp *deimos.Response) error {
	if p.json {
		return p.object(resultOf(resp.Action, resp.Index, resp.Node, resp.PrevNode))
	}
	tw := p.table()
	fmt.Fprintln(tw, "KEY\tVALUE\tTTL\tCREATED\tMODIFIED")
	var walk func(n *deimos.Node)
	walk = func(n *deimos.Node) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\n", displayKey(n), nodeCell(n, false), displayTTL(n), n.CreatedIndex, n.ModifiedIndex)
		for _, c := range n.Nodes {
			walk(c)
		}
	}
	if resp.Node != nil {
		walk(resp.Node)
	}
	return tw.Flush()
}

// write prints the answer of set, rm and mkdir.
func (p *printer) write(resp *deimos.Response) error {
	if p.json {
		return p.object(writeResult(resp))
	}
	tw := p.table()
	fmt.Fprintln(tw, "ACTION\tKEY\tVALUE\tPREVIOUS\tTTL\tINDEX")
	n := resp.Node
	prev := ""
	if resp.PrevNode != nil {
		prev = nodeCell(resp.PrevNode, false)
	}
	fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\n", resp.Action, displayKey(n), nodeCell(n, isDeletion(resp.Action)), prev, displayTTL(n), n.ModifiedIndex)
	return tw.Flush()
}
