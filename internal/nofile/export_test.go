package nofile

// This file must import nothing: test files of the package itself are part
// of it, and an import here would put the package's init after that
// import's, which is what the tests check it is not.

// SetAtStart replaces the limit read at start until the returned function
// is called.
func SetAtStart(l Limit, read bool) (restore func()) {
	saved, savedKnown := atStart, known
	atStart, known = l, read
	return func() { atStart, known = saved, savedKnown }
}
