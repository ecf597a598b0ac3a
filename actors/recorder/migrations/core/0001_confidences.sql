CREATE TABLE "confidences" (
	"patch_id" text PRIMARY KEY NOT NULL,
	"task_id" text NOT NULL,
	"attempt" integer NOT NULL,
	"model" text NOT NULL,
	"raw" double precision NOT NULL,
	"calibrated" double precision NOT NULL,
	"features" jsonb NOT NULL,
	"label" text,
	"label_source" text,
	"labeled_at" timestamp with time zone,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "confidences" ADD CONSTRAINT "confidences_task_id_tasks_id_fk" FOREIGN KEY ("task_id") REFERENCES "public"."tasks"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "confidences_task_idx" ON "confidences" USING btree ("task_id");--> statement-breakpoint
CREATE INDEX "confidences_label_idx" ON "confidences" USING btree ("label");