package control

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/slotrun/slotrun/internal/imagepages"
)

// A burst of requests gives memory back once when its first client goes,
// and once more at the end of that second, for the garbage of the rest of
// the burst; not once per request.
func TestABurstGivesMemoryBackTwice(t *testing.T) {
	var returns atomic.Int32
	old := returnMemory
	returnMemory = func() error { returns.Add(1); return nil }
	t.Cleanup(func() { returnMemory = old })

	s, err := ServeHTTP("127.0.0.1:0", &fakeBackend{}, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	burst := time.Now()
	for range 5 {
		resp, err := client.Get("http://" + s.Addr() + "/livez")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for returns.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("memory given back %d times after a burst, want 2", returns.Load())
		}
		time.Sleep(10 * time.Millisecond) // the poll's interval, under the deadline above
	}
	if elapsed := time.Since(burst); elapsed < time.Second {
		t.Fatalf("second return %v after the burst began, want it at the end of the second", elapsed)
	}
	if n := returns.Load(); n != 2 {
		t.Fatalf("memory given back %d times after a burst of 5, want 2", n)
	}
}

// What a burst's end gives back includes the pages of the executable
// that the requests mapped in, as after the start.
func TestReturnMemoryReleasesTheImagesPages(t *testing.T) {
	before, err := imagepages.Resident()
	if err != nil {
		t.Fatal(err)
	}
	if err := returnMemory(); err != nil {
		t.Fatal(err)
	}
	after, err := imagepages.Resident()
	if err != nil {
		t.Fatal(err)
	}
	if after >= before {
		t.Fatalf("the image's resident pages: %d KiB before, %d KiB after; want fewer", before, after)
	}
}
