// Package cdktest holds the checks that every rotor stack's tests share: the
// cdk-nag findings of a stack, the scope of its IAM statements, and counting
// resources that match properties. They read synthesized templates, so they
// test what CloudFormation would receive, not what the Go code meant.
package cdktest
