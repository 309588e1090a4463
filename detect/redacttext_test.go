package detect

import "testing"

func TestRedactText(t *testing.T) {
	r, err := NewRedactor(DefaultRedactPatterns, DefaultRedactFlags, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, in, want string }{
		{"plain output", "total 4\r\ndrwxr-xr-x 2 root root\r\n", "total 4\r\ndrwxr-xr-x 2 root root\r\n"},
		{"key=value", "/ # echo PASSWORD=hunter2\r\nPASSWORD=hunter2\r\n", "/ # echo PASSWORD=[REDACTED]\r\nPASSWORD=[REDACTED]\r\n"},
		{"url password", "git clone https://bob:s3cret@example.com/r\r\n", "git clone https://bob:[REDACTED]@example.com/r\r\n"},
		{"flag and value", "/ # app --password hunter2 --verbose\r\n", "/ # app --password [REDACTED] --verbose\r\n"},
		{"flag at end of line", "app --token\r\nnext line\r\n", "app --token\r\nnext line\r\n"},
		{"escape sequences kept", "\x1b[1;32mok\x1b[0m\r\n", "\x1b[1;32mok\x1b[0m\r\n"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.Text(tt.in); got != tt.want {
				t.Errorf("Text(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	var none *Redactor
	if got := none.Text("token=x"); got != "token=x" {
		t.Errorf("nil redactor changed the text: %q", got)
	}
}
