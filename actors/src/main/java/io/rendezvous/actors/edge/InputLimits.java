package io.rendezvous.actors.edge;

/**
 * What one request may hold, for every edge: instances in one request, and an image's side and
 * pixel count (checked from its header, before its pixels are decoded).
 */
public record InputLimits(int maxInstances, int maxImageSide, long maxImagePixels) {}
