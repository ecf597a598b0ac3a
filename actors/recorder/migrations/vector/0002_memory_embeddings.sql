CREATE TABLE "memory_embeddings" (
	"patch_id" text PRIMARY KEY NOT NULL,
	"repo_key" text NOT NULL,
	"org_id" text NOT NULL,
	"model" text NOT NULL,
	"embedding" vector(384) NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "memory_embeddings_hnsw_cosine_idx" ON "memory_embeddings" USING hnsw ("embedding" vector_cosine_ops);--> statement-breakpoint
CREATE INDEX "memory_embeddings_repo_idx" ON "memory_embeddings" USING btree ("repo_key","org_id","model");