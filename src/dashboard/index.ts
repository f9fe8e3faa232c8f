export { LiveCollector, type CollectorOptions, type LiveRecord, type SamplingOptions } from './collector.ts';
export { dashboardRoutes, type DashboardRouteOptions, type RouteHandler } from './routes.ts';
export { pipelineLag } from './pipeline.ts';
export { Ring } from './ring.ts';
