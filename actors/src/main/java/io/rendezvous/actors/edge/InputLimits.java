package io.rendezvous.actors.edge;

/**
 * What one request may hold, for every edge: instances in one request, an image's side and pixel
 * count (checked from its header, before its pixels are decoded), and a text's characters.
 */
public record InputLimits(
    int maxInstances, int maxImageSide, long maxImagePixels, int maxTextChars) {

  /** With the default text limit (1,000 characters). */
  public InputLimits(int maxInstances, int maxImageSide, long maxImagePixels) {
    this(maxInstances, maxImageSide, maxImagePixels, 1000);
  }
}
