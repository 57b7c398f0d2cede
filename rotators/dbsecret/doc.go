// Package dbsecret reads and writes the database secret JSON that AWS's own
// rotation functions use, so that a user can swap rotor's function in for
// AWS's without touching the secret:
//
//	{
//	  "engine": "postgres",
//	  "host": "db.example.com",
//	  "port": 5432,
//	  "username": "app",
//	  "password": "...",
//	  "dbname": "postgres",
//	  "masterarn": "arn:aws:secretsmanager:...",
//	  "ssl": true
//	}
//
// The layout is documented in "JSON structure of AWS Secrets Manager secrets":
// https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_secret_json_structure.html
//
// [Parse] checks a secret against [Rules] and returns an [*rotators.InputError]
// naming the field that is wrong. Those errors never carry a value from the
// secret, not even the engine name: a user who pastes a password into the
// wrong field must not find it in a log. [Secret.WithCredentials] writes the
// pending secret; every field other than username and password, including
// fields of the user's own, is kept as it was given.
//
// Absent "ssl" means TLS with full verification: a secret has to say
// "ssl": false to get a plain connection.
package dbsecret
