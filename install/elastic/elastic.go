// Package elastic holds what Elasticsearch needs to index execguard's
// documents without Defend for Containers' integration: a component
// template with their mappings (execguard@mappings), an ingest pipeline
// (execguard) and an index template for the logs-cloud_defend.process-* and
// logs-cloud_defend.alerts-* data streams that uses both. The README's
// "Shipping events to Elasticsearch" says how to load them.
package elastic

import _ "embed"

// The names the files are loaded under, as the index template refers to
// them.
const (
	ComponentTemplateName = "execguard@mappings"
	PipelineName          = "execguard"
	IndexTemplateName     = "execguard"
)

var (
	//go:embed component-template.json
	ComponentTemplate []byte
	//go:embed ingest-pipeline.json
	Pipeline []byte
	//go:embed index-template.json
	IndexTemplate []byte
)
