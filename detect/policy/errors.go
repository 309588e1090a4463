package policy

import "github.com/execguard/execguard/detect/policy/internal/spec"

// Error is one problem in a policy file: file, line, column, the offending
// key, what is wrong and a hint.
type Error = spec.Error

// Errors is every problem found in one policy file, in file order.
type Errors = spec.Errors

// MaxFileSize is the largest policy file read, in bytes.
const MaxFileSize = spec.MaxFileSize
