// Package e2e runs rotations as AWS runs them, end to end on one machine:
// RotateSecret on the local endpoint (test/awslocal) invokes the real
// PostgreSQL rotation function, built from functions/postgres and run under
// aws-lambda-rie, against a throwaway PostgreSQL server with password
// authentication and TLS. Only the cloud is emulated.
package e2e
