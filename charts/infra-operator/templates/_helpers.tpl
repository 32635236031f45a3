{{/*
Prefix of every object's name. Fixed by default (not derived from the release name) because the
IRSA trust policy and the docs name the ServiceAccount and Deployment
infra-operator-controller-manager.
*/}}
{{- define "infra-operator.fullname" -}}
{{- default "infra-operator" .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{- define "infra-operator.managerName" -}}
{{- printf "%s-controller-manager" (include "infra-operator.fullname" .) -}}
{{- end -}}

{{- define "infra-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "infra-operator.selectorLabels" -}}
app.kubernetes.io/name: infra-operator
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "infra-operator.labels" -}}
{{ include "infra-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ include "infra-operator.chart" . }}
{{- end -}}

{{- define "infra-operator.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
