CREATE TABLE "embeddings" (
	"id" text PRIMARY KEY NOT NULL,
	"index_id" text NOT NULL,
	"repo_id" text NOT NULL,
	"path" text NOT NULL,
	"start_line" integer NOT NULL,
	"end_line" integer NOT NULL,
	"embedding" vector(384) NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "embeddings_hnsw_cosine_idx" ON "embeddings" USING hnsw ("embedding" vector_cosine_ops);--> statement-breakpoint
CREATE INDEX "embeddings_repo_idx" ON "embeddings" USING btree ("repo_id");