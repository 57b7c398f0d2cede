package metrics

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// The line follows the EMF specification: _aws.Timestamp in milliseconds,
// one directive naming the namespace, the dimension keys and the metric,
// and the values as top-level members.
func TestEmitWritesEMF(t *testing.T) {
	var buf bytes.Buffer
	e := New(&buf, "Rotor")
	e.now = func() time.Time { return time.UnixMilli(1764064800123) }
	if err := e.Emit("UnacknowledgedConsumers", 2, Count, map[string]string{"SecretName": "prod/db"}); err != nil {
		t.Fatal(err)
	}
	var got struct {
		AWS struct {
			Timestamp         int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		} `json:"_aws"`
		Value      float64 `json:"UnacknowledgedConsumers"`
		SecretName string
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("not JSON: %v: %s", err, buf.Bytes())
	}
	d := got.AWS.CloudWatchMetrics
	switch {
	case got.AWS.Timestamp != 1764064800123:
		t.Errorf("timestamp: want 1764064800123, got %d", got.AWS.Timestamp)
	case len(d) != 1 || d[0].Namespace != "Rotor" || len(d[0].Metrics) != 1 || d[0].Metrics[0].Name != "UnacknowledgedConsumers" || d[0].Metrics[0].Unit != "Count":
		t.Errorf("directive: got %+v", d)
	case len(d[0].Dimensions) != 1 || len(d[0].Dimensions[0]) != 1 || d[0].Dimensions[0][0] != "SecretName":
		t.Errorf("dimensions: want [[SecretName]], got %v", d[0].Dimensions)
	case got.Value != 2 || got.SecretName != "prod/db":
		t.Errorf("values: want 2 and prod/db, got %v and %q", got.Value, got.SecretName)
	case bytes.Count(buf.Bytes(), []byte("\n")) != 1:
		t.Errorf("want one line, got %q", buf.String())
	}
	if err := e.Emit("X", 1, Count, map[string]string{"X": "y"}); err == nil {
		t.Errorf("want a dimension named like the metric refused")
	}
}
