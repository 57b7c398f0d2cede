package awsjson

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
)

// MaxBody bounds a request body. AWS's own limits (65,536 bytes for a secret
// value, 1 MiB for an SQS message or a PutEvents call) are smaller and are
// checked by each operation, with the error AWS gives.
const MaxBody = 8 << 20

// Operation serves one JSON operation: body is the request's JSON input; the
// result is encoded as the response.
type Operation func(ctx context.Context, body []byte) (any, error)

// Op adapts a typed handler to an [Operation]: the body is decoded into In, and
// a body that is not JSON of In's shape is AWS's SerializationException. An
// empty body decodes as {}.
func Op[In, Out any](fn func(context.Context, *In) (*Out, error)) Operation {
	return func(ctx context.Context, body []byte) (any, error) {
		in := new(In)
		if len(bytes.TrimSpace(body)) > 0 {
			if err := json.Unmarshal(body, in); err != nil {
				return nil, errSerialization(serializationMessage(err))
			}
		}
		out, err := fn(ctx, in)
		if err != nil {
			return nil, err
		}
		if out == nil {
			return struct{}{}, nil
		}
		return out, nil
	}
}

func serializationMessage(err error) string {
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) && typ.Field != "" {
		return fmt.Sprintf("Start of structure or map found where not expected: field %s must be %s", typ.Field, typ.Type)
	}
	return "The request body is not valid JSON"
}

// Service is one AWS service on the JSON protocol.
type Service struct {
	// TargetPrefix is what precedes the dot in X-Amz-Target: "secretsmanager",
	// "AWSEvents", "AmazonSQS".
	TargetPrefix string
	// ContentType is "application/x-amz-json-1.1" or "application/x-amz-json-1.0".
	ContentType string
	Operations  map[string]Operation
}

// Router dispatches requests to the JSON services by X-Amz-Target, and others
// to REST routes (Lambda's Invoke) by path.
type Router struct {
	Identity Identity
	Logger   *slog.Logger
	// OnCall, when set, observes every request once it is answered:
	// benchmarks count API calls with it.
	OnCall func(c Caller, target string, status int)

	services map[string]Service
	rest     *http.ServeMux
}

// NewRouter returns a router resolving callers with id.
func NewRouter(id Identity, logger *slog.Logger) *Router {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Router{Identity: id, Logger: logger, services: map[string]Service{}, rest: http.NewServeMux()}
}

// Register adds a JSON service.
func (r *Router) Register(s Service) { r.services[s.TargetPrefix] = s }

// HandleREST adds a REST route (a net/http pattern such as
// "POST /2015-03-31/functions/{name}/invocations"); the handler finds the
// caller with [CallerFrom].
func (r *Router) HandleREST(pattern string, h http.HandlerFunc) {
	r.rest.HandleFunc(pattern, h)
}

// ServeHTTP implements http.Handler.
func (r *Router) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	start := time.Now()
	requestID := uuid.NewString()
	w.Header().Set("X-Amzn-Requestid", requestID)
	caller, signed := r.Identity.Resolve(req.Header.Get("Authorization"))
	caller.RequestID = requestID
	caller.Host = req.Host
	ctx := WithCaller(req.Context(), caller)
	target := req.Header.Get("X-Amz-Target")
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		if r.OnCall != nil {
			r.OnCall(caller, target, rec.status)
		}
		r.Logger.LogAttrs(ctx, slog.LevelDebug, "call",
			slog.String("target", target), slog.String("path", req.URL.Path),
			slog.String("account", caller.AccountID), slog.String("region", caller.Region),
			slog.Int("status", rec.status), slog.Duration("duration", time.Since(start)))
	}()
	if !signed {
		WriteError(rec, "application/x-amz-json-1.1", errMissingAuth)
		return
	}
	if target == "" {
		r.rest.ServeHTTP(rec, req.WithContext(ctx))
		return
	}
	prefix, op, _ := strings.Cut(target, ".")
	svc, ok := r.services[prefix]
	if !ok {
		WriteError(rec, "application/x-amz-json-1.1", errUnknownOperation(target))
		return
	}
	handler, ok := svc.Operations[op]
	if !ok {
		WriteError(rec, svc.ContentType, errUnknownOperation(target))
		return
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, MaxBody+1))
	if err != nil || len(body) > MaxBody {
		WriteError(rec, svc.ContentType, errSerialization("The request body could not be read or is too large"))
		return
	}
	out, err := handler(ctx, body)
	if err != nil {
		WriteError(rec, svc.ContentType, err)
		return
	}
	WriteJSON(rec, svc.ContentType, http.StatusOK, out)
}

// WriteJSON writes a successful JSON response.
func WriteJSON(w http.ResponseWriter, contentType string, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		WriteError(w, contentType, errInternal)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

// WriteError writes err as AWS's JSON error shape. An error that is not an
// [*Error] is an InternalFailure (500), without its text: it may hold a value.
func WriteError(w http.ResponseWriter, contentType string, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = errInternal
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("X-Amzn-Errortype", e.Code)
	if e.QueryCode != "" {
		fault := "Sender"
		if e.Status >= 500 {
			fault = "Receiver"
		}
		w.Header().Set("X-Amzn-Query-Error", e.QueryCode+";"+fault)
	}
	w.WriteHeader(e.Status)
	data, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{e.Code, e.Message})
	_, _ = w.Write(data)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// Flush lets long-polling handlers flush through the recorder.
func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
