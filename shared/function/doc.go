// Package function holds what every rotation function's main shares: the
// logger, and the store, password configuration and CA roots read from the
// environment, so that each main under functions/ only picks its rotator.
package function
