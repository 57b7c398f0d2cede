package secretsmanager_test

import (
	"net/http/httptest"
	"testing"

	"github.com/rotorhq/rotor/shared/secretstore/storetest"
	"github.com/rotorhq/rotor/test/awslocal/awsjson"
	"github.com/rotorhq/rotor/test/awslocal/secretsmanager"
	"github.com/rotorhq/rotor/test/motoserver"
)

// TestConformance runs storetest's scenarios (secrets, versions and stages,
// GetRandomPassword's constraints) through the SDK against the endpoint and
// against moto_server, and compares them; the steps where moto differs from
// AWS's documentation are marked in storetest and checked on the endpoint
// only.
func TestConformance(t *testing.T) {
	moto := motoserver.StartTB(t)
	svc := secretsmanager.New(secretsmanager.Options{})
	defer svc.Close()
	router := awsjson.NewRouter(awsjson.Identity{DefaultAccount: account, DefaultRegion: region}, nil)
	router.Register(svc.JSONService())
	srv := httptest.NewServer(router)
	defer srv.Close()
	storetest.Run(t, storetest.Scenarios(),
		storetest.SDKTarget("endpoint", client(srv.URL, "AKIDEXAMPLE"), false),
		storetest.SDKTarget("moto", moto.SecretsManager(), true),
	)
}
