/** Types for parse-prometheus-text-format (the package ships none). */
declare module "parse-prometheus-text-format" {
  /** MetricFamily is one parsed family, shaped like prom2json's output. */
  export interface MetricFamily {
    name: string;
    help: string;
    type: "COUNTER" | "GAUGE" | "SUMMARY" | "HISTOGRAM" | "UNTYPED";
    metrics: { value?: string; labels?: Record<string, string> }[];
  }
  /** parsePrometheusTextFormat parses the exposition text; it throws on lines it cannot read. */
  export default function parsePrometheusTextFormat(text: string): MetricFamily[];
}
