package s3api_test

import "errors"

func errors_As(err error, target any) bool { return errors.As(err, target) }
