// Package motoserver starts moto's standalone server (moto_server), a second,
// independent implementation of the AWS APIs, on a free loopback port for
// the length of a test package, so that rotor's own emulator and adapters
// can be checked against it through the real SDK over HTTP.
//
// moto: https://docs.getmoto.org/en/latest/docs/server_mode.html
//
// Use [Start] from TestMain (one server per test package: it takes a few
// seconds to start) and [Server.Stop] when the tests are done, or [StartTB]
// for a single test. [Server.AWSConfig] gives an aws.Config with static
// credentials and the server as its endpoint; nothing is set in the
// process environment.
package motoserver
