// Package layout holds no code: its test keeps the project's import directions
// (STYLE.md: handlers → models, cam, webhooks; jobs → models, media, storage, webhooks;
// models → migrations; media, cam and storage import nothing of ours).
package layout
