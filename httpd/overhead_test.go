package httpd

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkWrapper measures what ServeHTTP adds around a handler.
func BenchmarkWrapper(b *testing.B) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	r := httptest.NewRequest("GET", "/index.html", nil)
	w := httptest.NewRecorder()
	b.Run("bare", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			h.ServeHTTP(w, r)
		}
	})
	b.Run("httpd", func(b *testing.B) {
		s := New(Options{Handler: h})
		b.ReportAllocs()
		for b.Loop() {
			s.ServeHTTP(w, r)
		}
	})
	b.Run("httpd without handler caps", func(b *testing.B) {
		s := New(Options{Handler: h, MaxHandlers: -1, MaxHandlersPerIP: -1})
		b.ReportAllocs()
		for b.Loop() {
			s.ServeHTTP(w, r)
		}
	})
}
