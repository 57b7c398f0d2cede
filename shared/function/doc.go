// Package function holds what every rotation function's main shares: the
// logger, and the store, password configuration, CA roots and event
// configuration (ROTOR_EVENT_BUS, ROTOR_FINGERPRINT_KEY_SECRET) read from
// the environment, so that each main under functions/ only picks its
// rotator.
package function
