package deimos_test

// The API of the original README, kept verbatim (its Printf strings, broken
// across lines by the README's rendering, are rejoined with \n). Watch and
// the lock snippets belong to the packages that add those features.

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	deimosclient "github.com/marsevilspirit/deimos-client"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

// readmeQuickStart is the README's Quick Start main, unchanged.
func readmeQuickStart() {
	// Create a new Deimos client, pointing to your cluster endpoints
	client := deimosclient.New(deimosclient.WithEndpoints("http://127.0.0.1:4001", "http://127.0.0.1:4002"))

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	// 1. Set a key-value pair
	fmt.Println("Setting value...")
	setResp, err := client.Set(ctx, "/mykey", "hello from the deimos client!")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("-> Set Response: %+v\n\n", setResp)

	// 2. Get the value of the key
	fmt.Println("Getting value...")
	getResp, err := client.Get(ctx, "/mykey")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("-> Get Response: %+v\n\n", getResp)

	// 3. Delete the key
	fmt.Println("Deleting value...")
	delResp, err := client.Delete(ctx, "/mykey")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("-> Delete Response: %+v\n\n", delResp)
}

func readmeCreatingAClient() *deimosclient.Client {
	// Create a client connected to a single node
	//lint:ignore SA4006 the README shows both forms one after the other
	client := deimosclient.New(deimosclient.WithEndpoints("http://127.0.0.1:4001"))

	// Create a client connected to multiple nodes for high availability
	client = deimosclient.New(deimosclient.WithEndpoints("http://127.0.0.1:4001", "http://127.0.0.1:4002", "http://127.0.0.1:4003"))
	return client
}

func readmeSetting(ctx context.Context, client *deimosclient.Client) error {
	// Set a simple key-value pair
	resp, err := client.Set(ctx, "/foo", "bar")
	if err != nil || resp.Node.Value != "bar" {
		return fmt.Errorf("set: %v", err)
	}

	// Set a key-value pair with a TTL (Time-To-Live) of 10 seconds
	resp, err = client.Set(ctx, "/foo", "bar", deimosclient.WithTTL(10*time.Second))
	if err != nil || resp.Node.TTL != 10 {
		return fmt.Errorf("set with TTL: %v", err)
	}
	return nil
}

func readmeGetting(ctx context.Context, client *deimosclient.Client) error {
	// Get the value of a single key
	resp, err := client.Get(ctx, "/foo")
	if err != nil || resp.Node.Value != "bar" {
		return fmt.Errorf("get: %v", err)
	}

	// Recursively get all key-values under a directory
	resp, err = client.Get(ctx, "/dir", deimosclient.WithRecursive())
	if err != nil || len(resp.Node.Nodes) == 0 {
		return fmt.Errorf("recursive get: %v", err)
	}
	return nil
}

func readmeDeleting(ctx context.Context, client *deimosclient.Client) error {
	// Delete a single key
	resp, err := client.Delete(ctx, "/foo")
	if err != nil || resp.Action != "delete" {
		return fmt.Errorf("delete: %v", err)
	}

	// Recursively delete a directory and all its contents
	resp, err = client.Delete(ctx, "/dir", deimosclient.WithRecursive())
	if err != nil || !resp.Node.Dir {
		return fmt.Errorf("recursive delete: %v", err)
	}
	return nil
}

func TestREADME_UsageExamples(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	client := deimosclient.New(deimosclient.WithEndpoints(c.Endpoints()...))
	defer client.Close()
	ctx := t.Context()

	_, err := client.Set(ctx, "/dir/sub/key", "v")
	require.NoError(t, err)
	require.NoError(t, readmeSetting(ctx, client))
	require.NoError(t, readmeGetting(ctx, client))
	require.NoError(t, readmeDeleting(ctx, client))
}

func TestREADME_CreatingAClientNeverFails(t *testing.T) {
	client := readmeCreatingAClient()
	defer client.Close()
	require.Len(t, client.Endpoints(), 3)
}

// TestREADME_QuickStart runs the Quick Start unchanged against a cluster on
// the README's own addresses, when they are free on this machine.
func TestREADME_QuickStart(t *testing.T) {
	c, err := deimostest.StartCluster(3, deimostest.WithBasePort(4001))
	if err != nil {
		t.Skipf("ports 4001-4003 are busy, Quick Start compiled but not run: %v", err)
	}
	defer c.Close()
	stdout := os.Stdout
	r, w, err := os.Pipe()
	require.NoError(t, err)
	os.Stdout = w
	done := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		done <- string(b)
	}()
	readmeQuickStart()
	os.Stdout = stdout
	require.NoError(t, w.Close())
	out := <-done
	require.Contains(t, out, "hello from the deimos client!")
	require.Contains(t, out, "Deleting value...")
}

// readmeWatch is the README's "Watching for Changes" snippet, verbatim, with
// the output sent to a function instead of stdout.
func readmeWatch(ctx context.Context, client *deimosclient.Client, printf func(string, ...any)) {
	// Watch for changes on a single key
	watcher := client.Watch(ctx, "/foo")
	for resp := range watcher {
		printf("Key '/foo' changed: %+v", resp)
		break // the README loops forever; the test stops after one
	}

	// Recursively watch for changes in a directory
	watcher = client.Watch(ctx, "/dir", deimosclient.WithRecursive())
	for resp := range watcher {
		printf("A key in '/dir' changed: %+v", resp)
		break
	}
}
