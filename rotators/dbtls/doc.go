// Package dbtls builds the TLS configuration of rotor's database connections:
// full verification (the certificate chains to a trusted root and names the
// host; libpq's sslmode=verify-full, MySQL's VERIFY_IDENTITY), TLS 1.2 or
// newer, and never a fallback to a plain connection.
//
// Amazon RDS and Aurora certificates are issued by the RDS certificate
// authorities, which are not in the system roots. The RDS CA bundle
// (https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem) cannot
// be downloaded on the build machine, which has no internet access, and a
// function must not fetch it at run time either: each function ships the
// bundle as a file beside its bootstrap binary, and the function's main
// passes that file to [LoadRoots], whose [Roots] parse it, and the system
// roots, only when a certificate is verified (a cold step that does not
// connect parses nothing). See "Using SSL/TLS to encrypt a connection
// to a DB instance":
// https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.SSL.html
package dbtls
