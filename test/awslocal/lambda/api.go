package lambda

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/rotorhq/rotor/test/awslocal/awsjson"
)

// Lambda's payload quotas for Invoke.
const (
	MaxSyncPayload  = 6 * 1024 * 1024 // RequestResponse and DryRun
	MaxAsyncPayload = 1024 * 1024     // Event
)

// Routes serves Lambda's Invoke (POST /2015-03-31/functions/{FunctionName}/invocations)
// and a minimal ListFunctions on router, in Lambda's REST protocol, so that
// the SDKs and the AWS CLI can run a function (a rotation step, say) by
// hand against the local endpoint.
func (r *Registry) Routes(router *awsjson.Router) {
	router.HandleREST("POST /2015-03-31/functions/{FunctionName}/invocations", r.serveInvoke)
	router.HandleREST("GET /2015-03-31/functions/{$}", r.serveListFunctions)
}

func (r *Registry) serveInvoke(w http.ResponseWriter, req *http.Request) {
	ctx := req.Context()
	caller := awsjson.CallerFrom(ctx)
	typ := req.Header.Get("X-Amz-Invocation-Type")
	limit := MaxSyncPayload
	switch typ {
	case "":
		typ = "RequestResponse"
	case "RequestResponse", "DryRun":
	case "Event":
		limit = MaxAsyncPayload
	default:
		writeError(w, awsjson.ClientError("ValidationException",
			"1 validation error detected: Value '%s' at 'invocationType' failed to satisfy constraint: "+
				"Member must satisfy enum value set: [Event, RequestResponse, DryRun]", typ))
		return
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, int64(limit)+1))
	if err != nil {
		writeError(w, err)
		return
	}
	if len(body) > limit {
		writeError(w, awsjson.Errorf(http.StatusRequestEntityTooLarge, "RequestTooLargeException",
			"Request must be smaller than %d bytes for the InvokeFunction operation", limit))
		return
	}
	name := req.PathValue("FunctionName")
	if q := req.URL.Query().Get("Qualifier"); q != "" {
		name += ":" + q
	}
	arn, f, err := r.resolve(ctx, name)
	if err != nil {
		writeError(w, err)
		return
	}
	// Lambda gives a function {} when the request has no payload.
	payload := body
	if len(bytes.TrimSpace(payload)) == 0 {
		payload = []byte("{}")
	}
	if !json.Valid(payload) {
		writeError(w, awsjson.ClientError("InvalidRequestContentException",
			"Could not parse request body into json: the payload is not valid JSON"))
		return
	}
	ctx = withInvocation(ctx, invocation{RequestID: caller.RequestID, FunctionARN: arn})
	switch typ {
	case "DryRun":
		w.WriteHeader(http.StatusNoContent)
		return
	case "Event":
		if _, err := r.invokeAsync(ctx, arn, payload); err != nil {
			writeError(w, err)
			return
		}
		w.WriteHeader(http.StatusAccepted)
		return
	}
	out, err := f.Invoke(ctx, payload)
	var fe *FunctionError
	switch {
	case errors.As(err, &fe):
		out = fe.Body()
		w.Header().Set("X-Amz-Function-Error", "Unhandled")
	case err != nil:
		if ctx.Err() != nil {
			return // the caller has gone
		}
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amz-Executed-Version", "$LATEST")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}

func (r *Registry) serveListFunctions(w http.ResponseWriter, req *http.Request) {
	caller := awsjson.CallerFrom(req.Context())
	type function struct {
		FunctionName string
		FunctionArn  string
		Runtime      string
		Handler      string
		Version      string
		PackageType  string
	}
	out := struct{ Functions []function }{Functions: []function{}}
	for _, ref := range r.functions(caller.AccountID, caller.Region) {
		out.Functions = append(out.Functions, function{
			FunctionName: ref.name, FunctionArn: ref.arn(),
			Runtime: "provided.al2023", Handler: "bootstrap", Version: "$LATEST", PackageType: "Zip",
		})
	}
	writeJSON(w, http.StatusOK, out)
}

// writeError writes err in Lambda's REST error shape: the code in
// X-Amzn-ErrorType and a body of {"Type": "User"|"Service", "message"}.
func writeError(w http.ResponseWriter, err error) {
	var (
		nf   *NotFoundError
		ae   *awsjson.Error
		code = "ServiceException"
		msg  = "The service could not run the function: " + err.Error()
		st   = http.StatusInternalServerError
	)
	switch {
	case errors.As(err, &nf):
		code, msg, st = "ResourceNotFoundException", fmt.Sprintf("Function not found: %s", nf.ARN), http.StatusNotFound
	case errors.As(err, &ae):
		code, msg, st = ae.Code, ae.Message, ae.Status
	case errors.Is(err, ErrRegistryClosed), errors.Is(err, ErrClosed):
		code, msg, st = "ServiceException", "The function's execution environment has shut down.", http.StatusInternalServerError
	}
	typ := "User"
	if st >= 500 {
		typ = "Service"
	}
	w.Header().Set("X-Amzn-Errortype", code)
	writeJSON(w, st, struct {
		Type    string `json:"Type"`
		Message string `json:"message"`
	}{typ, msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(data)
}
