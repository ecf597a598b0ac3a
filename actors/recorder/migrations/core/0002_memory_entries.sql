CREATE TABLE "memory_entries" (
	"patch_id" text PRIMARY KEY NOT NULL,
	"task_id" text NOT NULL,
	"repo_key" text NOT NULL,
	"org_id" text NOT NULL,
	"outcome" text NOT NULL,
	"terms" text NOT NULL,
	"tsv" "tsvector" GENERATED ALWAYS AS (to_tsvector('simple', "memory_entries"."terms")) STORED,
	"body" jsonb NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "memory_entries_repo_idx" ON "memory_entries" USING btree ("repo_key","org_id");--> statement-breakpoint
CREATE INDEX "memory_entries_tsv_idx" ON "memory_entries" USING gin ("tsv");