package embedded

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// BenchmarkPutSmall is the per-object cost of the store itself (NoSync).
func BenchmarkPutSmall(b *testing.B) {
	s := openTemp(b, Options{NoSync: true})
	ctx := context.Background()
	for i := 0; b.Loop(); i++ {
		k := fmt.Sprintf("seg_%06d.ts", i)
		if err := s.Put(ctx, "bkt", k, strings.NewReader(k), int64(len(k)), ""); err != nil {
			b.Fatal(err)
		}
	}
}
