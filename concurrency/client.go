package concurrency

import "github.com/marsevilspirit/deimos-client/kv"

// Client is what the recipes need from the SDK: the key-space API.
// *deimos.Client and *kv.KV both satisfy it.
type Client interface {
	KV() *kv.KV
}
